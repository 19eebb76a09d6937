"""The package version, read from its installed metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["PROJECT_URL", "USER_AGENT_ENV", "__version__", "default_user_agent"]

PROJECT_URL = "https://github.com/harvest-async/harvest_async"

try:
    __version__ = version("harvest_async")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

#: Where the default ``User-Agent`` may be set (HarvestClient and HarvestID).
USER_AGENT_ENV = "HARVEST_USER_AGENT"


def default_user_agent() -> str:
    """``harvest_async/<version> (<project URL>)``: Harvest asks for a contact."""
    return f"harvest_async/{__version__} ({PROJECT_URL})"
