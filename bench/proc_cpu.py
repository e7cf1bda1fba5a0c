"""CPU seconds of processes from /proc (Linux): a bench's own, a worker's process tree, and
the PostgreSQL backends serving one database, so each figure says where the time went."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None  # gone, or not ours to read
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU of `pid` (plus its reaped children's with `reaped`); 0 if gone."""
    f = _stat(pid)
    if f is None:
        return 0.0
    ticks = int(f[11]) + int(f[12])  # utime, stime
    if reaped:
        ticks += int(f[13]) + int(f[14])  # cutime, cstime: children it has waited for
    return ticks / TICK


def tree(roots: Iterable[int]) -> set[int]:
    """`roots` and every live descendant (a prefork worker's pool children)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            f = _stat(int(entry.name))
            if f is not None:
                parent[int(entry.name)] = int(f[1])
    found = set(roots)
    grew = True
    while grew:
        more = {p for p, pp in parent.items() if pp in found and p not in found}
        found |= more
        grew = bool(more)
    return found


def sample(pids: Iterable[int], roots: Iterable[int] = ()) -> dict[int, float]:
    """CPU seconds by pid; `roots` also count their reaped children (replaced pool children)."""
    keep = set(roots)
    return {p: cpu_seconds(p, reaped=p in keep) for p in pids}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two samples; a process new since `before` counts from zero, and
    one gone by `after` is lost (its time went to whoever reaped it)."""
    return sum(max(0.0, v - before.get(p, 0.0)) for p, v in after.items())


def reference_ms(rounds: int = 3) -> float:
    """CPU ms of a fixed pure-Python loop (best of `rounds`): this machine's speed at the
    moment. The machines benches run on differ, and drift by tens of percent within minutes,
    so a figure read without it cannot be compared with another run's."""
    import time

    best = float("inf")
    for _ in range(rounds):
        t0, total = time.process_time(), 0
        for i in range(2_000_000):
            total += i * i
        best = min(best, time.process_time() - t0)
    return best * 1000
