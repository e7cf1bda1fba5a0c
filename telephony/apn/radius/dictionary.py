"""The RADIUS attributes this server reads and writes, as a pyrad dictionary.

Only what a GGSN/PGW sends for a PDP context / PDN connection and what we answer with; an
attribute not listed is kept raw by pyrad and ignored.
"""

from __future__ import annotations

import io
from functools import cache

from pyrad.dictionary import Dictionary

_TEXT = """
ATTRIBUTE User-Name 1 string
ATTRIBUTE User-Password 2 octets
ATTRIBUTE CHAP-Password 3 octets
ATTRIBUTE NAS-IP-Address 4 ipaddr
ATTRIBUTE NAS-Port 5 integer
ATTRIBUTE Service-Type 6 integer
ATTRIBUTE Framed-Protocol 7 integer
ATTRIBUTE Framed-IP-Address 8 ipaddr
ATTRIBUTE Framed-IP-Netmask 9 ipaddr
ATTRIBUTE Reply-Message 18 string
ATTRIBUTE Class 25 octets
ATTRIBUTE Vendor-Specific 26 octets
ATTRIBUTE Session-Timeout 27 integer
ATTRIBUTE Called-Station-Id 30 string
ATTRIBUTE Calling-Station-Id 31 string
ATTRIBUTE NAS-Identifier 32 string
ATTRIBUTE Proxy-State 33 octets
ATTRIBUTE Acct-Status-Type 40 integer
ATTRIBUTE Acct-Delay-Time 41 integer
ATTRIBUTE Acct-Input-Octets 42 integer
ATTRIBUTE Acct-Output-Octets 43 integer
ATTRIBUTE Acct-Session-Id 44 string
ATTRIBUTE Acct-Authentic 45 integer
ATTRIBUTE Acct-Session-Time 46 integer
ATTRIBUTE Acct-Input-Packets 47 integer
ATTRIBUTE Acct-Output-Packets 48 integer
ATTRIBUTE Acct-Terminate-Cause 49 integer
ATTRIBUTE Acct-Multi-Session-Id 50 string
ATTRIBUTE Acct-Input-Gigawords 52 integer
ATTRIBUTE Acct-Output-Gigawords 53 integer
ATTRIBUTE Event-Timestamp 55 integer
ATTRIBUTE CHAP-Challenge 60 octets
ATTRIBUTE NAS-Port-Type 61 integer
ATTRIBUTE Message-Authenticator 80 octets
ATTRIBUTE NAS-IPv6-Address 95 ipv6addr

VENDOR 3GPP 10415
BEGIN-VENDOR 3GPP
ATTRIBUTE 3GPP-IMSI 1 string
ATTRIBUTE 3GPP-IMEISV 20 string
END-VENDOR 3GPP
"""

# Acct-Terminate-Cause values (RFC 2866 §5.10), stored by name on the session.
TERMINATE_CAUSES = {
    1: "User-Request",
    2: "Lost-Carrier",
    3: "Lost-Service",
    4: "Idle-Timeout",
    5: "Session-Timeout",
    6: "Admin-Reset",
    7: "Admin-Reboot",
    8: "Port-Error",
    9: "NAS-Error",
    10: "NAS-Request",
    11: "NAS-Reboot",
    12: "Port-Unneeded",
    13: "Port-Preempted",
    14: "Port-Suspended",
    15: "Service-Unavailable",
    16: "Callback",
    17: "User-Error",
    18: "Host-Request",
}


@cache
def dictionary() -> Dictionary:
    return Dictionary(io.StringIO(_TEXT))
