"""A small valid flow document for IVR tests."""

from __future__ import annotations

from typing import Any


def simple_flow(member: str = "6001") -> dict[str, Any]:
    return {
        "start": "menu",
        "nodes": {
            "menu": {
                "type": "menu",
                "prompt": "sound:press-1",
                "options": {"1": "member"},
                "on_timeout": "bye",
            },
            "member": {"type": "route", "target": {"kind": "short_number", "value": member}},
            "bye": {"type": "hangup"},
        },
    }


# Every node type, every kind of edge; valid when member 6001 and queue "sales" exist.
GOOD: dict[str, Any] = {
    "start": "hours",
    "nodes": {
        "hours": {
            "type": "condition",
            "check": "business_hours",
            "hours": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
            "holidays": ["2026-10-01"],
            "then": "welcome",
            "else": "closed",
        },
        "welcome": {"type": "play", "media": "sound:welcome", "next": "menu"},
        "menu": {
            "type": "menu",
            "prompt": "sound:press-1-or-2",
            "options": {"1": "sales", "2": "order", "0": "operator"},
            "timeout": 5,
            "retries": 2,
            "invalid_prompt": "sound:invalid",
            "on_timeout": "operator",
        },
        "order": {
            "type": "gather",
            "prompt": "sound:enter-order",
            "digits": 8,
            "variable": "order_no",
            "next": "find",
            "on_timeout": "menu",
        },
        "find": {
            "type": "lookup",
            "source": "http",
            "query": "https://erp.example.cn/orders/{order_no}",
            "timeout": 2,
            "variable": "order",
            "next": "sales",
            "on_error": "operator",
        },
        "sales": {"type": "route", "target": {"kind": "queue", "value": "sales"}},
        "operator": {
            "type": "route",
            "target": {"kind": "short_number", "value": "6001"},
            "on_failure": "vm",
        },
        "vm": {"type": "voicemail", "mailbox": "6001"},
        "closed": {"type": "play", "media": "sound:closed", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}
