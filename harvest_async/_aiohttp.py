"""The aiohttp transport: the only client module that imports aiohttp.

A small adapter from a resolved `Request` to a `RawResponse`: one request per call
(aiohttp's own silent re-send of idempotent requests is disabled, so every request on
the wire is one the rate limiter admitted), bodies read with a size limit, aiohttp's
failures turned into typed `TransportError` subclasses. Retries, limiter slots, auth,
redaction and deciphering belong to the layers above.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from yarl import URL

from . import _json
from ._errors import (
    ClientClosedError,
    ConfigurationError,
    ConnectionNotMadeError,
    RequestMayHaveBeenSent,
    ResponseTooLargeError,
)
from ._http import DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY, FormFile, RawResponse, Request

__all__ = ["DEFAULT_CONNECTION_LIMIT", "AiohttpTransport", "ClientSession"]

#: Connections open at once per session the client opens (all hosts together).
DEFAULT_CONNECTION_LIMIT = 100

#: The session type a caller may hand in (``HarvestClient(session=...)``).
ClientSession = aiohttp.ClientSession


def _no_resend_middleware() -> Any:
    """A per-request middleware that lets aiohttp send the request once only.

    aiohttp re-sends an idempotent request by itself when a kept-alive connection turns
    out closed. That re-send would bypass the rate limiter, so it is stopped here and
    the failure reaches our retry policy, which takes a new limiter slot.
    """
    calls = 0

    async def once(req: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise aiohttp.ServerDisconnectedError("connection closed; re-send left to retries")
        response: aiohttp.ClientResponse = await handler(req)
        return response

    return once


class AiohttpTransport:
    """Sends requests over one aiohttp session (a `Transport`).

    Args:
        timeout: Seconds allowed for each request, connect to last byte.
        session: A caller-owned session; used as is and never closed here.
        max_response_bytes: Responses larger than this fail with
            `ResponseTooLargeError` (checked on ``Content-Length`` and while reading).
        connection_limit: Connections the session this transport opens keeps at most.
    """

    def __init__(
        self,
        *,
        timeout: float,
        session: aiohttp.ClientSession | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    ) -> None:
        for name, value in (
            ("max_response_bytes", max_response_bytes),
            ("connection_limit", connection_limit),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be an int >= 1, got {value!r}")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._max_response_bytes = max_response_bytes
        self._connection_limit = connection_limit
        self._closed = False

    def __repr__(self) -> str:
        return f"<AiohttpTransport owns_session={self._owns_session} closed={self._closed}>"

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("the client is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                json_serialize=_json.dumps,
            )
        return self._session

    async def send(self, request: Request) -> RawResponse:
        """Send one resolved request and read its whole response.

        Raises:
            ConnectionNotMadeError: no connection could be made (safe to re-send).
            RequestMayHaveBeenSent: the connection broke or timed out after sending.
            ResponseTooLargeError: the response was larger than allowed.
            ClientClosedError: the transport is closed.
        """
        if request.url is None:
            raise ValueError("the transport sends resolved requests (with an absolute url)")
        session = self._get_session()
        headers = dict(request.headers)
        data: Any = None
        if request.json is not None:
            data = _json.dumps(request.json).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif request.form is not None:
            data = aiohttp.FormData()
            for key, value in request.form.items():
                if isinstance(value, FormFile):
                    data.add_field(
                        key, value.content, filename=value.filename, content_type=value.content_type
                    )
                else:
                    data.add_field(key, value)
        method = request.method
        target = URL(request.url, encoded=True)
        if request.query:
            target = target.extend_query(list(request.query))
        # Per-request middlewares replace the session's own: keep a caller's.
        middlewares = (*getattr(session, "_middlewares", ()), _no_resend_middleware())
        limit = self._timeout
        if request.timeout is not None:  # this request's own (``with_options(timeout=)``)
            limit = aiohttp.ClientTimeout(total=request.timeout)
        try:
            async with session.request(
                method,
                target,
                headers=headers,
                data=data,
                timeout=limit,
                allow_redirects=False,
                middlewares=middlewares,
            ) as response:
                length = response.content_length
                if length is not None and length > self._max_response_bytes:
                    raise ResponseTooLargeError(
                        f"response of {length} bytes exceeds the "
                        f"{self._max_response_bytes}-byte limit"
                    )
                body = await self._read(response, error=not 200 <= response.status < 300)
                return RawResponse(
                    status=response.status,
                    headers=response.headers,
                    body=body,
                    method=method,
                    url=str(target),
                )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise ConnectionNotMadeError(
                f"cannot connect to {target.host}: {type(exc).__name__}: {exc}"
            ) from None
        except TimeoutError:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)} timed out after {limit.total} s"
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)}: response body cut off ({exc})"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise RequestMayHaveBeenSent(
                f"{method} {_safe_url(target)} failed: {type(exc).__name__}: {exc}"
            ) from None

    async def _read(self, response: aiohttp.ClientResponse, *, error: bool = False) -> bytes:
        """The whole body; for an ``error`` response its first `MAX_ERROR_BODY` bytes."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if error and size >= MAX_ERROR_BODY:
                chunks.append(chunk)
                # Cut (never valid JSON then): kept as text, redacted, cut again.
                return b"".join(chunks)[:MAX_ERROR_BODY]
            if size > self._max_response_bytes:
                raise ResponseTooLargeError(
                    f"response exceeds the {self._max_response_bytes}-byte limit"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close the session if this transport opened it; later sends fail."""
        if self._closed:
            return
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()


def _safe_url(url: URL) -> str:
    """``url`` for a message: no credentials, no query (it may be a server's ``links.next``)."""
    return str(url.with_user(None).with_password(None).with_query(None).with_fragment(None))
