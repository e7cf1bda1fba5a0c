"""Fixtures every telephony slice shares: Asterisk's ARI spec and a spec-checked simulator.

A slice that needs ARI time to pass faster (ring timeouts, wrap-ups) overrides
`sim_time_scale`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from telephony.ari.simulator import AriSimulator
from telephony.ari.spec import AriSpec, SpecNotFoundError, load_spec

SKIP_REASON = (
    "Asterisk's ARI description not found: set HUITONG_ARI_SPEC_DIR "
    "(default ../shared/ari beside the checkout)"
)


@pytest.fixture(scope="session")
def ari_spec() -> AriSpec:
    try:
        return load_spec()
    except SpecNotFoundError:
        pytest.skip(SKIP_REASON)


@pytest.fixture
def sim_time_scale() -> float:
    """ARI seconds per real second in the simulator (1.0: real time)."""
    return 1.0


@pytest.fixture
async def sim(ari_spec: AriSpec, sim_time_scale: float) -> AsyncIterator[AriSimulator]:
    async with AriSimulator(spec=ari_spec, time_scale=sim_time_scale) as simulator:
        yield simulator
        # Every event the simulator emitted in the test matched its model in events.json.
        assert simulator.violations == []
