"""One client per ASGI app: `lifespan` opens it at start-up, `get_harvest` hands it out.

FastAPI (or Starlette) calls ``lifespan(app)`` around the app's life::

    app = FastAPI(lifespan=ha.lifespan)                       # settings from $HARVEST_*
    app = FastAPI(lifespan=functools.partial(ha.lifespan, user_agent="Me (me@x.com)"))

    @app.get("/me")
    async def me(harvest: Annotated[ha.HarvestClient, Depends(ha.get_harvest)]): ...

The framework is not imported unless it is installed (the dependency's parameter is
Starlette's ``HTTPConnection``, so it serves HTTP and WebSocket endpoints alike).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._client import HarvestClient
from ._errors import ConfigurationError

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection
else:
    try:
        from starlette.requests import HTTPConnection
    except ImportError:  # pragma: no cover - without Starlette there is no app to serve
        HTTPConnection = object

__all__ = ["STATE_KEY", "get_harvest", "lifespan"]

#: The attribute of ``app.state`` that holds the client.
STATE_KEY = "harvest"


@contextlib.asynccontextmanager
async def lifespan(app: Any = None, **client_kwargs: Any) -> AsyncIterator[Any]:
    """Open one `HarvestClient` for an ASGI app's life and close it at shutdown.

    Given an ``app`` (as FastAPI and Starlette do with ``lifespan=ha.lifespan``), the
    client is put on ``app.state.harvest`` and nothing is yielded; `get_harvest` reads
    it from there. Without one, the client itself is yielded (``async with
    ha.lifespan() as harvest:``). Either way the client is closed when the block ends,
    also when start-up fails halfway.

    Args:
        app: The ASGI app (anything with a ``state`` attribute), or ``None``.
        **client_kwargs: Passed to `HarvestClient` (token, account id, base URL and
            User-Agent default to ``$HARVEST_ACCESS_TOKEN``, ``$HARVEST_ACCOUNT_ID``,
            ``$HARVEST_BASE_URL`` and ``$HARVEST_USER_AGENT``).

    Raises:
        ConfigurationError: bad client settings (at start-up, before serving), or an
            ``app`` without a ``state``.
    """
    state = None
    if app is not None:
        state = getattr(app, "state", None)
        if state is None:
            raise ConfigurationError(
                f"lifespan() needs an app with a .state (FastAPI, Starlette), got {app!r}"
            )
    async with HarvestClient(**client_kwargs) as harvest:
        if state is None:
            yield harvest
            return
        setattr(state, STATE_KEY, harvest)
        try:
            yield None
        finally:
            with contextlib.suppress(AttributeError):
                delattr(state, STATE_KEY)


def get_harvest(connection: HTTPConnection) -> HarvestClient:
    """The app's client, as a FastAPI dependency: ``Depends(ha.get_harvest)``.

    Raises:
        ConfigurationError: the app was not started with `lifespan` (the message says
            how to fix it).
    """
    harvest = getattr(connection.app.state, STATE_KEY, None)
    if not isinstance(harvest, HarvestClient):
        raise ConfigurationError(
            "no HarvestClient on app.state: create the app with "
            "FastAPI(lifespan=harvest_async.lifespan)"
        )
    return harvest
