"""Roles (https://help.getharvest.com/api-v2/roles-api/roles/roles/)."""

from __future__ import annotations

from collections.abc import Sequence

from .._pagination import Paginator
from ..models.roles import Role
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_id, operation

__all__ = ["Roles"]


class Roles(Resource):
    """``harvest.roles``: list, get, create, update, delete."""

    @operation("GET", "/roles")
    def list(self, *, per_page: PerPage | NotGiven = NOT_GIVEN) -> Paginator[Role]:
        """List roles, most recently created first.

        Args:
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `Role`; nothing is sent until iterated.
        """
        return self._paginate("roles", "roles", Role, self._query())

    @operation("GET", "/roles/{roleId}")
    async def get(self, role_id: int) -> Role:
        """Retrieve one role.

        Args:
            role_id: The role to retrieve.
        """
        return await self._get(Role, f"roles/{check_id(role_id, 'role_id')}")

    @operation("POST", "/roles")
    async def create(
        self,
        *,
        name: str,
        user_ids: Sequence[int] | NotGiven = NOT_GIVEN,
    ) -> Role:
        """Create a role.

        Args:
            name: The name of the role.
            user_ids: The ids of the users to give this role.
        """
        fields = self._body()
        return await self._create(Role, "roles", fields)

    @operation("PATCH", "/roles/{roleId}")
    async def update(
        self,
        role_id: int,
        *,
        name: str | NotGiven = NOT_GIVEN,
        user_ids: Sequence[int] | NotGiven = NOT_GIVEN,
    ) -> Role:
        """Change the given fields of a role (only those are sent).

        Args:
            role_id: The role to change.
            name: The name of the role.
            user_ids: The ids of the users with this role (replaces the current list).
        """
        rid = check_id(role_id, "role_id")
        fields = self._body()
        return await self._update(Role, f"roles/{rid}", fields)

    @operation("DELETE", "/roles/{roleId}")
    async def delete(self, role_id: int) -> None:
        """Delete a role (its users keep their other roles).

        Args:
            role_id: The role to delete.
        """
        await self._delete(f"roles/{check_id(role_id, 'role_id')}")
