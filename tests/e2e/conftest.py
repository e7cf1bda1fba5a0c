"""Cross-package journeys reuse each slice's testkit: put their folders on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent.parent
for folder in ("erp", "telephony/apn", "crm"):
    path = str(_TESTS / folder)
    if path not in sys.path:
        sys.path.insert(0, path)

# The real-peer fixtures (SMSC, SMTP server, a hub wired to them) for every journey here.
from peers_testkit import api, peer_hub, smsc, smtp_server  # noqa: E402, F401
