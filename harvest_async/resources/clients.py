"""Clients (https://help.getharvest.com/api-v2/clients-api/clients/clients/)."""

from __future__ import annotations

import datetime as dt

from .._pagination import Paginator
from ..models.clients import Client
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_id, operation

__all__ = ["Clients"]


class Clients(Resource):
    """``harvest.clients``: list, get, create, update, delete."""

    @operation("GET", "/clients")
    def list(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[Client]:
        """List clients, most recently created first.

        Args:
            is_active: Only active (``True``) or archived (``False``) clients.
            updated_since: Only clients updated since this aware datetime.
            per_page: Records per page, 1..2000.
        """
        params = self._query()
        return self._paginate("clients", "clients", Client, params)

    @operation("GET", "/clients/{clientId}")
    async def get(self, client_id: int) -> Client:
        """Retrieve one client."""
        return await self._get(Client, f"clients/{check_id(client_id, 'client_id')}")

    @operation("POST", "/clients")
    async def create(
        self,
        *,
        name: str,
        is_active: bool | NotGiven = NOT_GIVEN,
        address: str | NotGiven | None = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
    ) -> Client:
        """Create a client.

        Args:
            name: A name for the client.
            is_active: Whether the client is active (default ``True``).
            address: Multi-line address of the client.
            currency: ISO 4217 currency code (default: the company's currency).
        """
        fields = self._body()
        return await self._create(Client, "clients", fields)

    @operation("PATCH", "/clients/{clientId}")
    async def update(
        self,
        client_id: int,
        *,
        name: str | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        address: str | NotGiven | None = NOT_GIVEN,
        currency: str | NotGiven = NOT_GIVEN,
    ) -> Client:
        """Change the given fields of a client (only those are sent).

        Args:
            client_id: The client to change.
            name: A name for the client.
            is_active: Whether the client is active or archived.
            address: Multi-line address of the client.
            currency: ISO 4217 currency code.
        """
        cid = check_id(client_id, "client_id")
        fields = self._body()
        return await self._update(Client, f"clients/{cid}", fields)

    @operation("DELETE", "/clients/{clientId}")
    async def delete(self, client_id: int) -> None:
        """Delete a client (only one with no projects, invoices or estimates)."""
        await self._delete(f"clients/{check_id(client_id, 'client_id')}")
