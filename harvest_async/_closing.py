"""`AsyncClosing`: ``async with`` for anything with an ``aclose()``."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["AsyncClosing"]


class AsyncClosing:
    """Mixin: ``async with x:`` opens ``x`` (`_open`, nothing by default) and ends with
    ``await x.aclose()``, whatever the block raised."""

    async def aclose(self) -> None:
        """Release what this object holds (each class that mixes this in says what)."""
        raise NotImplementedError

    async def _open(self) -> None:
        """What entering ``async with`` does before the block runs."""

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
