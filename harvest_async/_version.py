"""The package version, read from its installed metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["PROJECT_URL", "__version__"]

PROJECT_URL = "https://github.com/harvest-async/harvest_async"

try:
    __version__ = version("harvest_async")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
