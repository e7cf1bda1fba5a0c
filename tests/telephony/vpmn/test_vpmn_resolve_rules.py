"""Dialling rules without a database: short numbers, long numbers of members, unknowns."""

from __future__ import annotations

import uuid

from telephony.vpmn.resolve import (
    Action,
    MemberView,
    PlanView,
    RingStrategy,
    TargetKind,
    resolve,
    to_e164,
)

PLAN = PlanView(short_length=4, prefixes=("6", "8"))
ZHANG = MemberView(
    id=uuid.uuid4(),
    name="张伟",
    department="Sales",
    short_number="6001",
    mobile="+8613912345678",
    desk_endpoint="8001",
)
LI = MemberView(
    id=uuid.uuid4(),
    name="李娜",
    department="Support",
    short_number="6002",
    mobile="+8613800001111",
    desk_endpoint="PJSIP/li-softphone",
    strategy=RingStrategy.SIMULTANEOUS,
    desk_timeout=10,
    mobile_timeout=20,
)
MOBILE_ONLY = MemberView(
    id=uuid.uuid4(),
    name="王芳",
    department="Field",
    short_number="8003",
    mobile="+8613700002222",
    desk_endpoint=None,
)
MEMBERS = [ZHANG, LI, MOBILE_ONLY]


def test_short_number_rings_desk_then_mobile_in_sequence() -> None:
    r = resolve(PLAN, MEMBERS, caller="+8613800001111", dialled="6001")
    assert (r.action, r.member, r.in_network, r.short_number) == (
        Action.DIAL_MEMBER,
        ZHANG,
        True,
        True,
    )
    assert [(t.kind, t.endpoint, t.step, t.timeout) for t in r.targets] == [
        (TargetKind.DESK, "PJSIP/8001", 0, 15),
        (TargetKind.MOBILE, "PJSIP/+8613912345678@carrier", 1, 25),
    ]


def test_simultaneous_member_rings_both_at_once_with_the_longer_timeout() -> None:
    r = resolve(PLAN, MEMBERS, caller="6001", dialled="6002")
    assert {(t.endpoint, t.step, t.timeout) for t in r.targets} == {
        ("PJSIP/li-softphone", 0, 20),
        ("PJSIP/+8613800001111@carrier", 0, 20),
    }
    assert r.caller_member == ZHANG


def test_long_number_of_a_member_is_recognised_in_any_dialled_form() -> None:
    for dialled in ("13912345678", "+86 139 1234 5678", "008613912345678"):
        r = resolve(PLAN, MEMBERS, caller="PJSIP/li-softphone", dialled=dialled)
        assert (r.action, r.member, r.short_number, r.in_network) == (
            Action.DIAL_MEMBER,
            ZHANG,
            False,
            True,
        )


def test_outsider_calling_a_member_is_not_in_network() -> None:
    r = resolve(PLAN, MEMBERS, caller="+861058001234", dialled="8003")
    assert r.action is Action.DIAL_MEMBER and not r.in_network
    assert [t.kind for t in r.targets] == [TargetKind.MOBILE]


def test_unknown_short_number_gets_an_announcement_not_silence() -> None:
    r = resolve(PLAN, MEMBERS, caller="6001", dialled="6999")
    assert r.action is Action.ANNOUNCE and r.short_number
    assert r.announcement == "sound:ss-noservice" and r.targets == ()


def test_external_number_goes_out_through_the_trunk() -> None:
    r = resolve(PLAN, MEMBERS, caller="6001", dialled="01058001234")
    assert (r.action, r.dialled, r.in_network) == (Action.EXTERNAL, "+861058001234", False)
    assert [t.endpoint for t in r.targets] == ["PJSIP/+861058001234@carrier"]


def test_garbage_is_announced() -> None:
    assert resolve(PLAN, MEMBERS, caller="6001", dialled="12").action is Action.ANNOUNCE


def test_e164_normalisation() -> None:
    assert to_e164("139 1234 5678") == "+8613912345678"
    assert to_e164("abc") is None
