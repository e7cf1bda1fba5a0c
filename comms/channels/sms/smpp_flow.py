"""Flow control for one bind: the token bucket that caps throughput, and reconnect backoff.

Carriers cap each bind at N submit_sm per second and answer ESME_RTHROTTLED beyond it. The
bucket keeps us under the configured cap and, when the SMSC still says "throttled" (its
counting window differs from ours, or the cap was lowered), pauses and then runs at a
fraction of the rate for a cool-down period instead of hammering it again at full speed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable


def backoff_delay(
    attempt: int, low: float, high: float, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped at `high`.

    The jitter keeps many workers (or many binds) from reconnecting in lock-step after an
    SMSC restart; the fixed half keeps the delay from collapsing to zero.
    """
    ceiling = min(high, low * 2.0 ** min(attempt, 30))
    return ceiling / 2 + rand() * ceiling / 2


class TokenBucket:
    """Async token bucket; waiters are served in arrival order."""

    def __init__(
        self, rate: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.base_rate = rate
        self.capacity = float(max(1, capacity))
        self.clock = clock
        self._rate = rate
        self._tokens = self.capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._slow_until = 0.0
        self._lock = asyncio.Lock()  # FIFO: one waiter refills and sleeps at a time

    @property
    def rate(self) -> float:
        """The rate in force now: the configured one, or less while cooling down."""
        if self._rate != self.base_rate and self.clock() >= self._slow_until:
            self._rate = self.base_rate
        return self._rate

    def _refill(self, now: float) -> None:
        if now > self._stamp:  # _stamp sits in the future while paused: nothing accrues
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def try_take(self, tokens: float = 1.0) -> bool:
        """Spend `tokens` now if they are there and nobody waits ahead; else False."""
        if self._lock.locked():
            return False  # waiters are served in arrival order
        now = self.clock()
        if now < self._paused_until:
            return False
        self._refill(now)
        if self._tokens < tokens:
            return False
        self._tokens -= tokens
        return True

    async def take(self, tokens: float = 1.0) -> None:
        """Wait until `tokens` may be spent, then spend them."""
        async with self._lock:
            while True:
                now = self.clock()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._refill(now)
                if self._tokens >= tokens:
                    self._tokens -= tokens
                    return
                await asyncio.sleep((tokens - self._tokens) / self.rate)

    def slow_down(self, pause: float, factor: float, cooldown: float) -> None:
        """The SMSC said "throttled": stop for `pause`, then run at rate*factor for a while."""
        now = self.clock()
        self._refill(now)
        self._tokens = 0.0  # the burst we had is what got us throttled
        self._paused_until = max(self._paused_until, now + pause)
        self._stamp = self._paused_until
        # Never below one PDU per ten seconds, or the bind would look dead to the SMSC.
        self._rate = max(0.1, self.rate * factor)
        self._slow_until = now + pause + cooldown
