"""Pure call rating: which tariff class a call falls in and what it costs, in fen (0.01 CNY).

Kept free of I/O so the arithmetic carriers argue about (increments, minimum charge,
discount rounding) is tested exhaustively on its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


class TariffClass(enum.StrEnum):
    IN_NETWORK = "in_network"  # member to member, inside the tenant's VPMN
    ON_NET_MOBILE = "on_net_mobile"  # to a mobile of the carrier hosting the VPMN
    OFF_NET = "off_net"  # anything else (fixed lines, other carriers, international)


@dataclass(frozen=True)
class Tariff:
    """Per-minute rates in fen, the billing increment and the floor for an answered call."""

    in_network_rate: int
    on_net_mobile_rate: int
    off_net_rate: int
    increment_seconds: int = 60
    minimum_charge: int = 0
    # Percent off in-network calls: the reason tenants buy a VPMN at all.
    in_network_discount_pct: int = 0
    # E.164 prefixes of the hosting carrier's mobile ranges (e.g. "+86139").
    on_net_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.increment_seconds <= 0:
            raise ValueError("increment_seconds must be positive")
        if not 0 <= self.in_network_discount_pct <= 100:
            raise ValueError("in_network_discount_pct must be within 0..100")
        if min(self.in_network_rate, self.on_net_mobile_rate, self.off_net_rate) < 0:
            raise ValueError("rates must not be negative")
        if self.minimum_charge < 0:
            raise ValueError("minimum_charge must not be negative")

    def rate_for(self, tariff_class: TariffClass) -> int:
        return {
            TariffClass.IN_NETWORK: self.in_network_rate,
            TariffClass.ON_NET_MOBILE: self.on_net_mobile_rate,
            TariffClass.OFF_NET: self.off_net_rate,
        }[tariff_class]


@dataclass(frozen=True)
class Rating:
    tariff_class: TariffClass
    billable_seconds: int
    charged_seconds: int
    rate: int
    charge: int


def classify(tariff: Tariff, *, in_network: bool, callee_e164: str | None) -> TariffClass:
    """In-network wins; otherwise a callee in the carrier's own mobile ranges is on-net."""
    if in_network:
        return TariffClass.IN_NETWORK
    if callee_e164 and any(callee_e164.startswith(p) for p in tariff.on_net_prefixes):
        return TariffClass.ON_NET_MOBILE
    return TariffClass.OFF_NET


def charged_seconds(billable_seconds: int, increment_seconds: int) -> int:
    """Round talk time up to whole increments (a 61 s call is 120 s at 60 s, 66 s at 6 s)."""
    if billable_seconds <= 0:
        return 0
    units = -(-billable_seconds // increment_seconds)
    return units * increment_seconds


def rate_call(tariff: Tariff, tariff_class: TariffClass, billable_seconds: int) -> Rating:
    """Cost of one call; unanswered calls (0 s) cost nothing, not even the minimum charge."""
    seconds = charged_seconds(billable_seconds, tariff.increment_seconds)
    rate = tariff.rate_for(tariff_class)
    if seconds == 0:
        return Rating(tariff_class, 0, 0, rate, 0)
    cost = Decimal(rate) * seconds / 60
    cost = max(cost, Decimal(tariff.minimum_charge))
    if tariff_class is TariffClass.IN_NETWORK and tariff.in_network_discount_pct:
        # The discount applies after the minimum charge: it is a price cut on the call.
        cost = cost * (100 - tariff.in_network_discount_pct) / 100
    charge = int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Rating(tariff_class, max(billable_seconds, 0), seconds, rate, charge)
