"""Rating arithmetic: increments, minimum charge, in-network discount, tariff classes."""

from __future__ import annotations

import pytest

from telephony.vpmn.rating import Tariff, TariffClass, charged_seconds, classify, rate_call

TARIFF = Tariff(
    in_network_rate=10,
    on_net_mobile_rate=15,
    off_net_rate=30,
    increment_seconds=6,
    minimum_charge=2,
    in_network_discount_pct=50,
    on_net_prefixes=("+86139", "+86138"),
)


@pytest.mark.parametrize(
    ("billable", "increment", "charged"),
    [(0, 6, 0), (1, 6, 6), (6, 6, 6), (7, 6, 12), (61, 60, 120), (60, 60, 60), (66, 6, 66)],
)
def test_talk_time_rounds_up_to_whole_increments(
    billable: int, increment: int, charged: int
) -> None:
    assert charged_seconds(billable, increment) == charged


def test_off_net_call_costs_rate_times_charged_minutes() -> None:
    rating = rate_call(TARIFF, TariffClass.OFF_NET, 61)  # 66 s at 30 fen/min = 33 fen
    assert (rating.charged_seconds, rating.rate, rating.charge) == (66, 30, 33)


def test_short_call_pays_the_minimum_charge() -> None:
    assert rate_call(TARIFF, TariffClass.ON_NET_MOBILE, 1).charge == 2  # 6 s = 1.5 fen < 2


def test_unanswered_call_costs_nothing_despite_minimum_charge() -> None:
    rating = rate_call(TARIFF, TariffClass.OFF_NET, 0)
    assert (rating.charged_seconds, rating.charge) == (0, 0)


def test_in_network_discount_applies_after_the_minimum() -> None:
    assert rate_call(TARIFF, TariffClass.IN_NETWORK, 120).charge == 10  # 20 fen, half off
    assert rate_call(TARIFF, TariffClass.IN_NETWORK, 1).charge == 1  # minimum 2, half off


def test_minute_increments_bill_a_61_second_call_as_two_minutes() -> None:
    tariff = Tariff(in_network_rate=5, on_net_mobile_rate=12, off_net_rate=25)
    assert rate_call(tariff, TariffClass.OFF_NET, 61).charge == 50


def test_half_fen_rounds_up() -> None:
    tariff = Tariff(1, 1, 15, increment_seconds=6)
    assert rate_call(tariff, TariffClass.OFF_NET, 6).charge == 2  # 1.5 fen


def test_classes_in_network_then_carrier_prefix_then_off_net() -> None:
    assert classify(TARIFF, in_network=True, callee_e164="+8613912345678") is (
        TariffClass.IN_NETWORK
    )
    assert classify(TARIFF, in_network=False, callee_e164="+8613912345678") is (
        TariffClass.ON_NET_MOBILE
    )
    assert classify(TARIFF, in_network=False, callee_e164="+861058001234") is TariffClass.OFF_NET


@pytest.mark.parametrize(
    "bad",
    [
        {"increment_seconds": 0},
        {"in_network_discount_pct": 101},
        {"off_net_rate": -1},
        {"minimum_charge": -5},
    ],
)
def test_nonsense_tariffs_are_refused(bad: dict[str, int]) -> None:
    values = {"in_network_rate": 1, "on_net_mobile_rate": 1, "off_net_rate": 1} | bad
    with pytest.raises(ValueError):
        Tariff(**values)
