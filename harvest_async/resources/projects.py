"""Projects and their user and task assignments.

Harvest docs:
https://help.getharvest.com/api-v2/projects-api/projects/projects/,
https://help.getharvest.com/api-v2/projects-api/projects/user-assignments/,
https://help.getharvest.com/api-v2/projects-api/projects/task-assignments/.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from .._pagination import Paginator
from ..models.projects import Project, TaskAssignment, UserAssignment
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_id, operation

__all__ = ["BillBy", "BudgetBy", "Projects"]

Number = Decimal | int | str | float
#: How a project is invoiced (note the capitals: Harvest's own spelling).
BillBy = Literal["Project", "Tasks", "People", "none"]
#: How a project is budgeted.
BudgetBy = Literal["project", "project_cost", "task", "task_fees", "person", "none"]


class Projects(Resource):
    """``harvest.projects``: list, get, create, update, delete, and per-project assignments.

    User assignments: `user_assignments`, `get_user_assignment`,
    `create_user_assignment`, `update_user_assignment`,
    `delete_user_assignment`; task assignments likewise.
    """

    # -- projects -------------------------------------------------------------------

    @operation("GET", "/projects")
    def list(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        client_id: int | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[Project]:
        """List projects, most recently created first.

        Args:
            is_active: Only active (``True``) or archived (``False``) projects.
            client_id: Only projects of this client.
            updated_since: Only projects updated since this aware datetime.
            per_page: Records per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `Project`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("projects", "projects", Project, params)

    @operation("GET", "/projects/{projectId}")
    async def get(self, project_id: int) -> Project:
        """Retrieve one project."""
        return await self._get(Project, f"projects/{check_id(project_id, 'project_id')}")

    @operation("POST", "/projects")
    async def create(
        self,
        *,
        client_id: int,
        name: str,
        is_billable: bool,
        bill_by: BillBy,
        budget_by: BudgetBy,
        code: str | NotGiven | None = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        is_fixed_fee: bool | NotGiven = NOT_GIVEN,
        hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        budget: Number | NotGiven | None = NOT_GIVEN,
        budget_is_monthly: bool | NotGiven = NOT_GIVEN,
        notify_when_over_budget: bool | NotGiven = NOT_GIVEN,
        over_budget_notification_percentage: Number | NotGiven = NOT_GIVEN,
        show_budget_to_all: bool | NotGiven = NOT_GIVEN,
        cost_budget: Number | NotGiven | None = NOT_GIVEN,
        cost_budget_include_expenses: bool | NotGiven = NOT_GIVEN,
        fee: Number | NotGiven | None = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        starts_on: dt.date | str | NotGiven | None = NOT_GIVEN,
        ends_on: dt.date | str | NotGiven | None = NOT_GIVEN,
    ) -> Project:
        """Create a project.

        Args:
            client_id: The client the project is for.
            name: The name of the project.
            is_billable: Whether the project is billable.
            bill_by: How it is invoiced: ``"Project"``, ``"Tasks"``, ``"People"`` or
                ``"none"``.
            budget_by: How it is budgeted: ``"project"`` (hours per project),
                ``"project_cost"`` (total project fees), ``"task"`` (hours per task),
                ``"task_fees"`` (fees per task), ``"person"`` (hours per person) or
                ``"none"``.
            code: The project code.
            is_active: Whether the project is active (default ``True``).
            is_fixed_fee: Whether it is a fixed-fee project.
            hourly_rate: Rate for projects billed by project hourly rate.
            budget: Budget in hours, when budgeting by time.
            budget_is_monthly: Reset the budget every month (default ``False``).
            notify_when_over_budget: Notify project managers when over budget.
            over_budget_notification_percentage: Percentage that triggers the over-budget
                alert (``80`` for 80%).
            show_budget_to_all: Show the budget to all employees.
            cost_budget: Monetary budget, when budgeting by money.
            cost_budget_include_expenses: Count expenses against a total-fees budget.
            fee: Amount to invoice; fixed-fee projects only.
            notes: Project notes.
            starts_on: Date the project starts.
            ends_on: Date the project ends.
        """
        fields = self._body()
        return await self._create(Project, "projects", fields)

    @operation("PATCH", "/projects/{projectId}")
    async def update(
        self,
        project_id: int,
        *,
        client_id: int | NotGiven = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        code: str | NotGiven | None = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        is_billable: bool | NotGiven = NOT_GIVEN,
        is_fixed_fee: bool | NotGiven = NOT_GIVEN,
        bill_by: BillBy | NotGiven = NOT_GIVEN,
        hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        budget: Number | NotGiven | None = NOT_GIVEN,
        budget_by: BudgetBy | NotGiven = NOT_GIVEN,
        budget_is_monthly: bool | NotGiven = NOT_GIVEN,
        notify_when_over_budget: bool | NotGiven = NOT_GIVEN,
        over_budget_notification_percentage: Number | NotGiven = NOT_GIVEN,
        show_budget_to_all: bool | NotGiven = NOT_GIVEN,
        cost_budget: Number | NotGiven | None = NOT_GIVEN,
        cost_budget_include_expenses: bool | NotGiven = NOT_GIVEN,
        fee: Number | NotGiven | None = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        starts_on: dt.date | str | NotGiven | None = NOT_GIVEN,
        ends_on: dt.date | str | NotGiven | None = NOT_GIVEN,
    ) -> Project:
        """Change the given fields of a project (only those are sent).

        Args:
            project_id: The project to change.
            client_id: Move it to this client.
            name: The name of the project.
            code: The project code.
            is_active: Whether the project is active or archived.
            is_billable: Whether the project is billable.
            is_fixed_fee: Whether it is a fixed-fee project.
            bill_by: ``"Project"``, ``"Tasks"``, ``"People"`` or ``"none"``.
            hourly_rate: Rate for projects billed by project hourly rate.
            budget: Budget in hours, when budgeting by time.
            budget_by: ``"project"``, ``"project_cost"``, ``"task"``, ``"task_fees"``,
                ``"person"`` or ``"none"``.
            budget_is_monthly: Reset the budget every month.
            notify_when_over_budget: Notify project managers when over budget.
            over_budget_notification_percentage: Percentage that triggers the over-budget
                alert.
            show_budget_to_all: Show the budget to all employees.
            cost_budget: Monetary budget, when budgeting by money.
            cost_budget_include_expenses: Count expenses against a total-fees budget.
            fee: Amount to invoice; fixed-fee projects only.
            notes: Project notes.
            starts_on: Date the project starts.
            ends_on: Date the project ends.
        """
        pid = check_id(project_id, "project_id")
        fields = self._body()
        return await self._update(Project, f"projects/{pid}", fields)

    @operation("DELETE", "/projects/{projectId}")
    async def delete(self, project_id: int) -> None:
        """Delete a project with its time entries and expenses (invoices are kept).

        Archive it instead (``update(project_id, is_active=False)``) to keep them.
        """
        await self._delete(f"projects/{check_id(project_id, 'project_id')}")

    # -- user assignments -------------------------------------------------------------

    @operation("GET", "/projects/{projectId}/user_assignments")
    def user_assignments(
        self,
        project_id: int,
        *,
        user_id: int | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[UserAssignment]:
        """List the user assignments of one project.

        Args:
            project_id: The project.
            user_id: Only the assignments of this user.
            is_active: Only active (``True``) or archived (``False``) assignments.
            updated_since: Only assignments updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `UserAssignment`; nothing is sent until iterated.
        """
        pid = check_id(project_id, "project_id")
        params = self._query()
        return self._paginate(
            f"projects/{pid}/user_assignments", "user_assignments", UserAssignment, params
        )

    @operation("GET", "/projects/{projectId}/user_assignments/{userAssignmentId}")
    async def get_user_assignment(self, project_id: int, user_assignment_id: int) -> UserAssignment:
        """Retrieve one user assignment of a project."""
        pid = check_id(project_id, "project_id")
        aid = check_id(user_assignment_id, "user_assignment_id")
        return await self._get(UserAssignment, f"projects/{pid}/user_assignments/{aid}")

    @operation("POST", "/projects/{projectId}/user_assignments")
    async def create_user_assignment(
        self,
        project_id: int,
        *,
        user_id: int,
        is_active: bool | NotGiven = NOT_GIVEN,
        is_project_manager: bool | NotGiven = NOT_GIVEN,
        use_default_rates: bool | NotGiven = NOT_GIVEN,
        hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        budget: Number | NotGiven | None = NOT_GIVEN,
    ) -> UserAssignment:
        """Assign a user to a project.

        Args:
            project_id: The project.
            user_id: The user to assign.
            is_active: Whether the assignment is active (default ``True``).
            is_project_manager: Give the user project manager permissions on it.
            use_default_rates: Bill the user's default rates (``True``, the default) or
                ``hourly_rate`` (``False``) when the project bills by people.
            hourly_rate: Custom rate, used when ``use_default_rates`` is ``False``.
            budget: Budget, when the project is budgeted by person.
        """
        pid = check_id(project_id, "project_id")
        fields = self._body()
        return await self._create(UserAssignment, f"projects/{pid}/user_assignments", fields)

    @operation("PATCH", "/projects/{projectId}/user_assignments/{userAssignmentId}")
    async def update_user_assignment(
        self,
        project_id: int,
        user_assignment_id: int,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        is_project_manager: bool | NotGiven = NOT_GIVEN,
        use_default_rates: bool | NotGiven = NOT_GIVEN,
        hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        budget: Number | NotGiven | None = NOT_GIVEN,
    ) -> UserAssignment:
        """Change the given fields of a user assignment (only those are sent).

        Args:
            project_id: The project.
            user_assignment_id: The assignment to change.
            is_active: Whether the assignment is active or archived.
            is_project_manager: Whether the user has project manager permissions on it.
            use_default_rates: Bill the user's default rates or ``hourly_rate``.
            hourly_rate: Custom rate, used when ``use_default_rates`` is ``False``.
            budget: Budget, when the project is budgeted by person.
        """
        pid = check_id(project_id, "project_id")
        aid = check_id(user_assignment_id, "user_assignment_id")
        fields = self._body()
        return await self._update(UserAssignment, f"projects/{pid}/user_assignments/{aid}", fields)

    @operation("DELETE", "/projects/{projectId}/user_assignments/{userAssignmentId}")
    async def delete_user_assignment(self, project_id: int, user_assignment_id: int) -> None:
        """Delete a user assignment (only one with no time entries or expenses)."""
        pid = check_id(project_id, "project_id")
        aid = check_id(user_assignment_id, "user_assignment_id")
        await self._delete(f"projects/{pid}/user_assignments/{aid}")

    # -- task assignments -------------------------------------------------------------

    @operation("GET", "/projects/{projectId}/task_assignments")
    def task_assignments(
        self,
        project_id: int,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[TaskAssignment]:
        """List the task assignments of one project.

        Args:
            project_id: The project.
            is_active: Only active (``True``) or archived (``False``) assignments.
            updated_since: Only assignments updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `TaskAssignment`; nothing is sent until iterated.
        """
        pid = check_id(project_id, "project_id")
        params = self._query()
        return self._paginate(
            f"projects/{pid}/task_assignments", "task_assignments", TaskAssignment, params
        )

    @operation("GET", "/projects/{projectId}/task_assignments/{taskAssignmentId}")
    async def get_task_assignment(self, project_id: int, task_assignment_id: int) -> TaskAssignment:
        """Retrieve one task assignment of a project."""
        pid = check_id(project_id, "project_id")
        aid = check_id(task_assignment_id, "task_assignment_id")
        return await self._get(TaskAssignment, f"projects/{pid}/task_assignments/{aid}")

    @operation("POST", "/projects/{projectId}/task_assignments")
    async def create_task_assignment(
        self,
        project_id: int,
        *,
        task_id: int,
        is_active: bool | NotGiven = NOT_GIVEN,
        billable: bool | NotGiven = NOT_GIVEN,
        hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        budget: Number | NotGiven | None = NOT_GIVEN,
    ) -> TaskAssignment:
        """Assign a task to a project.

        Args:
            project_id: The project.
            task_id: The task to assign.
            is_active: Whether the assignment is active (default ``True``).
            billable: Whether time on it is billable (default ``False``).
            hourly_rate: Rate, used when the project bills by tasks.
            budget: Budget, when the project is budgeted by task or task fees.
        """
        pid = check_id(project_id, "project_id")
        fields = self._body()
        return await self._create(TaskAssignment, f"projects/{pid}/task_assignments", fields)

    @operation("PATCH", "/projects/{projectId}/task_assignments/{taskAssignmentId}")
    async def update_task_assignment(
        self,
        project_id: int,
        task_assignment_id: int,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        billable: bool | NotGiven = NOT_GIVEN,
        hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        budget: Number | NotGiven | None = NOT_GIVEN,
    ) -> TaskAssignment:
        """Change the given fields of a task assignment (only those are sent).

        Args:
            project_id: The project.
            task_assignment_id: The assignment to change.
            is_active: Whether the assignment is active or archived.
            billable: Whether time on it is billable.
            hourly_rate: Rate, used when the project bills by tasks.
            budget: Budget, when the project is budgeted by task or task fees.
        """
        pid = check_id(project_id, "project_id")
        aid = check_id(task_assignment_id, "task_assignment_id")
        fields = self._body()
        return await self._update(TaskAssignment, f"projects/{pid}/task_assignments/{aid}", fields)

    @operation("DELETE", "/projects/{projectId}/task_assignments/{taskAssignmentId}")
    async def delete_task_assignment(self, project_id: int, task_assignment_id: int) -> None:
        """Delete a task assignment (only one with no time entries or expenses)."""
        pid = check_id(project_id, "project_id")
        aid = check_id(task_assignment_id, "task_assignment_id")
        await self._delete(f"projects/{pid}/task_assignments/{aid}")
