"""Tokens of the simulator: the personal access token and OAuth2 codes and tokens."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from ._fields import Reject
from ._store import mix64

__all__ = ["INVALID_TOKEN", "TokenStore"]

INVALID_TOKEN = (
    "The access token provided is expired, revoked, malformed or invalid for other reasons."
)


@dataclasses.dataclass
class _Token:
    expires_at: float | None  # simulated POSIX time; None = never (personal token)


class TokenStore:
    """Valid access tokens, outstanding authorization codes and refresh tokens.

    Expiry runs on the simulator's clock (``sim.advance()`` expires tokens at once).
    """

    def __init__(
        self, *, seed: int, account_id: int, lifetime: float, now: Callable[[], float]
    ) -> None:
        self._seed = seed
        self._account_id = account_id
        self.lifetime = lifetime
        self._now = now
        self._serial = 0
        self.personal_token = self._make("pt")
        self.client_id = f"sim-client-{mix64(seed + 5) % 10**8:08d}"
        self.client_secret = self._make("cs")
        self._access: dict[str, _Token] = {self.personal_token: _Token(None)}
        self._codes: set[str] = set()
        self._refresh: set[str] = set()

    def _make(self, kind: str) -> str:
        self._serial += 1
        return (
            f"{self._account_id}.{kind}."
            f"{mix64(self._seed * 1_000_003 + self._serial):016x}"
            f"{mix64(self._serial * 7919 + self._seed):016x}"
        )

    def check(self, token: str) -> str | None:
        """``None`` if ``token`` is valid now, else the ``error_description`` to send."""
        entry = self._access.get(token)
        if entry is None:
            return INVALID_TOKEN
        if entry.expires_at is not None and self._now() >= entry.expires_at:
            return "The access token provided has expired."
        return None

    def revoke(self, token: str) -> None:
        """Make an access or refresh token invalid."""
        self._access.pop(token, None)
        self._refresh.discard(token)

    def issue_code(self) -> str:
        """A single-use authorization code, as Harvest's authorize page would hand out."""
        code = self._make("ac")
        self._codes.add(code)
        return code

    def _grant(self) -> dict[str, Any]:
        access = self._make("at")
        refresh = self._make("rt")
        self._access[access] = _Token(self._now() + self.lifetime)
        self._refresh.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": math.ceil(self.lifetime),
        }

    def token_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/v2/oauth2/token``: exchange a code or a refresh token."""
        grant = params.get("grant_type")
        if (
            params.get("client_id") != self.client_id
            or params.get("client_secret") != self.client_secret
        ):
            raise Reject(
                401,
                body={
                    "error": "invalid_client",
                    "error_description": "Client authentication failed.",
                },
            )
        if grant == "authorization_code":
            code = params.get("code")
            if not isinstance(code, str) or code not in self._codes:
                raise Reject(
                    400,
                    body={
                        "error": "invalid_grant",
                        "error_description": "The provided authorization grant is invalid, "
                        "expired, revoked, or was issued to another client.",
                    },
                )
            self._codes.discard(code)
            return self._grant()
        if grant == "refresh_token":
            refresh = params.get("refresh_token")
            if not isinstance(refresh, str) or refresh not in self._refresh:
                raise Reject(
                    400,
                    body={
                        "error": "invalid_grant",
                        "error_description": "The provided refresh token is invalid or revoked.",
                    },
                )
            self._refresh.discard(refresh)  # refresh tokens rotate
            return self._grant()
        if grant is None:
            raise Reject(
                400,
                body={"error": "invalid_request", "error_description": "grant_type is missing."},
            )
        raise Reject(
            400,
            body={
                "error": "unsupported_grant_type",
                "error_description": f"Unsupported grant type: {grant}",
            },
        )
