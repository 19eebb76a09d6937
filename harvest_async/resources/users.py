"""Users and their project assignments, billable rates, cost rates and teammates.

Harvest docs:
https://help.getharvest.com/api-v2/users-api/users/users/,
https://help.getharvest.com/api-v2/users-api/users/project-assignments/,
https://help.getharvest.com/api-v2/users-api/users/billable-rates/,
https://help.getharvest.com/api-v2/users-api/users/cost-rates/,
https://help.getharvest.com/api-v2/users-api/users/teammates/.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from .._http import Request
from .._pagination import Paginator
from ..models.users import BillableRate, CostRate, ProjectAssignment, Teammate, User
from ._base import (
    NOT_GIVEN,
    NotGiven,
    PerPage,
    Resource,
    Seconds,
    check_id,
    operation,
)

__all__ = ["Users"]

Number = Decimal | int | str | float


class Users(Resource):
    """``harvest.users``: me, list, get, create, update, delete, and per-user collections.

    Per user: `project_assignments` (and `my_project_assignments`),
    `billable_rates`, `get_billable_rate`, `create_billable_rate`,
    the same for cost rates, `teammates` and `update_teammates`.
    """

    # -- users ------------------------------------------------------------------------

    @operation("GET", "/users/me")
    async def me(self) -> User:
        """Retrieve the currently authenticated user."""
        return await self._get(User, "users/me")

    @operation("GET", "/users")
    def list(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[User]:
        """List users, sorted by last name and then first name.

        Args:
            is_active: Only active (``True``) or archived (``False``) users.
            updated_since: Only users updated since this aware datetime.
            per_page: Records per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `User`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("users", "users", User, params)

    @operation("GET", "/users/{userId}")
    async def get(self, user_id: int) -> User:
        """Retrieve one user (use `me` for the authenticated user)."""
        return await self._get(User, f"users/{check_id(user_id, 'user_id')}")

    @operation("POST", "/users")
    async def create(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str,
        timezone: str | NotGiven = NOT_GIVEN,
        has_access_to_all_future_projects: bool | NotGiven = NOT_GIVEN,
        is_contractor: bool | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        weekly_capacity: Seconds | NotGiven = NOT_GIVEN,
        default_hourly_rate: Number | NotGiven = NOT_GIVEN,
        cost_rate: Number | NotGiven = NOT_GIVEN,
        roles: Sequence[str] | NotGiven = NOT_GIVEN,
        access_roles: Sequence[str] | NotGiven = NOT_GIVEN,
    ) -> User:
        """Create a user.

        Args:
            first_name: The user's first name.
            last_name: The user's last name.
            email: The user's email address.
            timezone: The user's time zone, e.g. ``"Eastern Time (US & Canada)"``
                (default: the company's).
            has_access_to_all_future_projects: Add the user to future projects
                automatically (default ``False``).
            is_contractor: Contractor (``True``) or employee (``False``, the default).
            is_active: Whether the user is active (default ``True``).
            weekly_capacity: Available time per week, in seconds (default 126000, 35 h).
            default_hourly_rate: Billable rate used when added to a project (default 0).
            cost_rate: Cost rate used for project costs (default 0).
            roles: Names of the business roles of this person (for reports; no effect
                on permissions).
            access_roles: Permissions: ``"administrator"``, ``"manager"`` or
                ``"member"``, plus for managers any of ``"project_creator"``,
                ``"billable_rates_manager"``, ``"managed_projects_invoice_drafter"``,
                ``"managed_projects_invoice_manager"``, ``"client_and_task_manager"``,
                ``"time_and_expenses_manager"``, ``"estimates_manager"``.
        """
        fields = self._body()
        return await self._create(User, "users", fields)

    @operation("PATCH", "/users/{userId}")
    async def update(
        self,
        user_id: int,
        *,
        first_name: str | NotGiven = NOT_GIVEN,
        last_name: str | NotGiven = NOT_GIVEN,
        email: str | NotGiven = NOT_GIVEN,
        timezone: str | NotGiven = NOT_GIVEN,
        has_access_to_all_future_projects: bool | NotGiven = NOT_GIVEN,
        is_contractor: bool | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        weekly_capacity: Seconds | NotGiven = NOT_GIVEN,
        default_hourly_rate: Number | NotGiven = NOT_GIVEN,
        cost_rate: Number | NotGiven = NOT_GIVEN,
        roles: Sequence[str] | NotGiven = NOT_GIVEN,
        access_roles: Sequence[str] | NotGiven = NOT_GIVEN,
    ) -> User:
        """Change the given fields of a user (only those are sent).

        Names and email cannot be changed while the user is archived.

        Args:
            user_id: The user to change.
            first_name: The user's first name.
            last_name: The user's last name.
            email: The user's email address.
            timezone: The user's time zone.
            has_access_to_all_future_projects: Add the user to future projects
                automatically.
            is_contractor: Contractor (``True``) or employee (``False``).
            is_active: Whether the user is active or archived.
            weekly_capacity: Available time per week, in seconds.
            default_hourly_rate: Billable rate used when added to a project.
            cost_rate: Cost rate used for project costs.
            roles: Names of the business roles of this person (replaces the list).
            access_roles: Permissions (replaces the list); see `create`.
        """
        uid = check_id(user_id, "user_id")
        fields = self._body()
        return await self._update(User, f"users/{uid}", fields)

    @operation("DELETE", "/users/{userId}")
    async def delete(self, user_id: int) -> None:
        """Delete a user (only one with no time entries or expenses; archive instead)."""
        await self._delete(f"users/{check_id(user_id, 'user_id')}")

    # -- project assignments ----------------------------------------------------------

    @operation("GET", "/users/me/project_assignments")
    def my_project_assignments(
        self, *, per_page: PerPage | NotGiven = NOT_GIVEN
    ) -> Paginator[ProjectAssignment]:
        """List the active project assignments of the authenticated user.

        Args:
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `ProjectAssignment`; nothing is sent until
            iterated.
        """
        params = self._query()
        return self._paginate(
            "users/me/project_assignments", "project_assignments", ProjectAssignment, params
        )

    @operation("GET", "/users/{userId}/project_assignments")
    def project_assignments(
        self,
        user_id: int,
        *,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[ProjectAssignment]:
        """List the active project assignments of a user.

        Args:
            user_id: The user.
            updated_since: Only assignments updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `ProjectAssignment`; nothing is sent until
            iterated.
        """
        uid = check_id(user_id, "user_id")
        params = self._query()
        return self._paginate(
            f"users/{uid}/project_assignments",
            "project_assignments",
            ProjectAssignment,
            params,
        )

    # -- billable rates ---------------------------------------------------------------

    @operation("GET", "/users/{userId}/billable_rates")
    def billable_rates(
        self, user_id: int, *, per_page: PerPage | NotGiven = NOT_GIVEN
    ) -> Paginator[BillableRate]:
        """List the billable rates of a user, oldest ``start_date`` first.

        Args:
            user_id: The user.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `BillableRate`; nothing is sent until iterated.
        """
        uid = check_id(user_id, "user_id")
        params = self._query()
        return self._paginate(f"users/{uid}/billable_rates", "billable_rates", BillableRate, params)

    @operation("GET", "/users/{userId}/billable_rates/{billableRateId}")
    async def get_billable_rate(self, user_id: int, billable_rate_id: int) -> BillableRate:
        """Retrieve one billable rate of a user."""
        uid = check_id(user_id, "user_id")
        rid = check_id(billable_rate_id, "billable_rate_id")
        return await self._get(BillableRate, f"users/{uid}/billable_rates/{rid}")

    @operation("POST", "/users/{userId}/billable_rates")
    async def create_billable_rate(
        self,
        user_id: int,
        *,
        amount: Number,
        start_date: dt.date | str | NotGiven = NOT_GIVEN,
    ) -> BillableRate:
        """Add a billable rate to a user, effective from ``start_date``.

        Args:
            user_id: The user.
            amount: The rate.
            start_date: The date it takes effect (not in the future; default today).
        """
        uid = check_id(user_id, "user_id")
        fields = self._body()
        return await self._create(BillableRate, f"users/{uid}/billable_rates", fields)

    # -- cost rates -------------------------------------------------------------------

    @operation("GET", "/users/{userId}/cost_rates")
    def cost_rates(
        self, user_id: int, *, per_page: PerPage | NotGiven = NOT_GIVEN
    ) -> Paginator[CostRate]:
        """List the cost rates of a user, oldest ``start_date`` first.

        Args:
            user_id: The user.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `CostRate`; nothing is sent until iterated.
        """
        uid = check_id(user_id, "user_id")
        params = self._query()
        return self._paginate(f"users/{uid}/cost_rates", "cost_rates", CostRate, params)

    @operation("GET", "/users/{userId}/cost_rates/{costRateId}")
    async def get_cost_rate(self, user_id: int, cost_rate_id: int) -> CostRate:
        """Retrieve one cost rate of a user."""
        uid = check_id(user_id, "user_id")
        rid = check_id(cost_rate_id, "cost_rate_id")
        return await self._get(CostRate, f"users/{uid}/cost_rates/{rid}")

    @operation("POST", "/users/{userId}/cost_rates")
    async def create_cost_rate(
        self,
        user_id: int,
        *,
        amount: Number,
        start_date: dt.date | str | NotGiven = NOT_GIVEN,
    ) -> CostRate:
        """Add a cost rate to a user, effective from ``start_date``.

        Args:
            user_id: The user.
            amount: The rate.
            start_date: The date it takes effect (not in the future; default today).
        """
        uid = check_id(user_id, "user_id")
        fields = self._body()
        return await self._create(CostRate, f"users/{uid}/cost_rates", fields)

    # -- teammates --------------------------------------------------------------------

    @operation("GET", "/users/{userId}/teammates")
    def teammates(
        self, user_id: int, *, per_page: PerPage | NotGiven = NOT_GIVEN
    ) -> Paginator[Teammate]:
        """List the teammates assigned to a manager (whose timesheets they can see).

        Args:
            user_id: The manager.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `Teammate`; nothing is sent until iterated.
        """
        uid = check_id(user_id, "user_id")
        params = self._query()
        return self._paginate(f"users/{uid}/teammates", "teammates", Teammate, params)

    @operation("PATCH", "/users/{userId}/teammates")
    async def update_teammates(
        self, user_id: int, *, teammate_ids: Sequence[int]
    ) -> builtins.list[Teammate]:
        """Replace the teammates assigned to a manager.

        Args:
            user_id: The manager.
            teammate_ids: The full list of user ids to assign (an empty list removes
                them all).

        Returns:
            The manager's teammates after the change.
        """
        uid = check_id(user_id, "user_id")
        fields = self._body()
        request = Request("PATCH", f"users/{uid}/teammates", json=fields)
        return await self._records(Teammate, request, "teammates", "update_teammates")
