"""pytest plugin: the ``harvest_simulator`` fixture.

Enabled by the package's ``pytest11`` entry point, or explicitly with
``pytest_plugins = ["harvest_async.testing.pytest_plugin"]`` in your root
``conftest.py``. Override ``harvest_simulator_options`` to pass constructor arguments::

    @pytest.fixture
    def harvest_simulator_options():
        return {"seed": 7, "rate_limit": (100, 0.15)}

The fixture is async and needs pytest-asyncio. Loading the plugin is cheap: the
simulator (and aiohttp's server) is imported only when the fixture is used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._simulator import HarvestSimulator

__all__ = ["harvest_simulator", "harvest_simulator_options"]

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio missing
    pytest_asyncio = None  # type: ignore[assignment]


@pytest.fixture
def harvest_simulator_options() -> dict[str, Any]:
    """Keyword arguments for the simulator of ``harvest_simulator`` (override it)."""
    return {}


async def _started(options: dict[str, Any]) -> AsyncIterator[HarvestSimulator]:
    from ._simulator import HarvestSimulator

    async with HarvestSimulator(**options) as sim:
        yield sim


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def harvest_simulator(
        harvest_simulator_options: dict[str, Any],
    ) -> AsyncIterator[HarvestSimulator]:
        """A started `HarvestSimulator` (stopped after the test)."""
        async for sim in _started(harvest_simulator_options):
            yield sim

else:  # pragma: no cover - pytest-asyncio missing

    @pytest.fixture
    def harvest_simulator(
        harvest_simulator_options: dict[str, Any],
    ) -> Any:
        """Unavailable: the async fixture needs pytest-asyncio."""
        pytest.skip("the harvest_simulator fixture needs pytest-asyncio")
