"""Contacts (https://help.getharvest.com/api-v2/clients-api/clients/contacts/)."""

from __future__ import annotations

import datetime as dt

from .._pagination import Paginator
from ..models.contacts import Contact
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_id, operation

__all__ = ["Contacts"]


class Contacts(Resource):
    """``harvest.contacts``: list, get, create, update, delete."""

    @operation("GET", "/contacts")
    def list(
        self,
        *,
        client_id: int | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[Contact]:
        """List contacts, most recently created first.

        Args:
            client_id: Only contacts of this client.
            updated_since: Only contacts updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `Contact`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("contacts", "contacts", Contact, params)

    @operation("GET", "/contacts/{contactId}")
    async def get(self, contact_id: int) -> Contact:
        """Retrieve one contact.

        Args:
            contact_id: The contact to retrieve.
        """
        return await self._get(Contact, f"contacts/{check_id(contact_id, 'contact_id')}")

    @operation("POST", "/contacts")
    async def create(
        self,
        *,
        client_id: int,
        first_name: str,
        title: str | NotGiven | None = NOT_GIVEN,
        last_name: str | NotGiven | None = NOT_GIVEN,
        email: str | NotGiven | None = NOT_GIVEN,
        phone_office: str | NotGiven | None = NOT_GIVEN,
        phone_mobile: str | NotGiven | None = NOT_GIVEN,
        fax: str | NotGiven | None = NOT_GIVEN,
    ) -> Contact:
        """Create a contact at a client.

        Args:
            client_id: The client the contact belongs to.
            first_name: The contact's first name.
            title: The contact's title.
            last_name: The contact's last name.
            email: The contact's email address.
            phone_office: The contact's office phone number.
            phone_mobile: The contact's mobile phone number.
            fax: The contact's fax number.
        """
        fields = self._body()
        return await self._create(Contact, "contacts", fields)

    @operation("PATCH", "/contacts/{contactId}")
    async def update(
        self,
        contact_id: int,
        *,
        client_id: int | NotGiven = NOT_GIVEN,
        first_name: str | NotGiven = NOT_GIVEN,
        title: str | NotGiven | None = NOT_GIVEN,
        last_name: str | NotGiven | None = NOT_GIVEN,
        email: str | NotGiven | None = NOT_GIVEN,
        phone_office: str | NotGiven | None = NOT_GIVEN,
        phone_mobile: str | NotGiven | None = NOT_GIVEN,
        fax: str | NotGiven | None = NOT_GIVEN,
    ) -> Contact:
        """Change the given fields of a contact (only those are sent; ``None`` clears one).

        Args:
            contact_id: The contact to change.
            client_id: Move the contact to this client.
            first_name: The contact's first name.
            title: The contact's title.
            last_name: The contact's last name.
            email: The contact's email address.
            phone_office: The contact's office phone number.
            phone_mobile: The contact's mobile phone number.
            fax: The contact's fax number.
        """
        cid = check_id(contact_id, "contact_id")
        fields = self._body()
        return await self._update(Contact, f"contacts/{cid}", fields)

    @operation("DELETE", "/contacts/{contactId}")
    async def delete(self, contact_id: int) -> None:
        """Delete a contact.

        Args:
            contact_id: The contact to delete.
        """
        await self._delete(f"contacts/{check_id(contact_id, 'contact_id')}")
