"""Test tooling: `HarvestSimulator`, an in-process Harvest API v2 server.

Like moto for AWS or stripe-mock, the simulator answers the real HTTP API with seeded,
deterministic data, keeps state across calls (creates, updates, deletes), enforces
Harvest's rate limits, and injects faults on demand::

    from harvest_async.testing import HarvestSimulator

    async with HarvestSimulator(seed=0) as sim, sim.client() as harvest:
        async for entry in harvest.time_entries.list():
            ...

See docs/testing.md. The pytest fixture ``harvest_simulator`` lives in
``harvest_async.testing.pytest_plugin``.
"""

from __future__ import annotations

from ._config import DEFAULT_PAGE_BASED, Counters, Faults, RequestRecord, SimulatorScale
from ._simulator import DEFAULT_START, HarvestSimulator

__all__ = [
    "DEFAULT_PAGE_BASED",
    "DEFAULT_START",
    "Counters",
    "Faults",
    "HarvestSimulator",
    "RequestRecord",
    "SimulatorScale",
]
