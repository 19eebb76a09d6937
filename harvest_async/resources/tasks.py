"""Tasks (https://help.getharvest.com/api-v2/tasks-api/tasks/tasks/)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .._pagination import Paginator
from ..models.tasks import Task
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, check_id, operation

__all__ = ["Tasks"]

Number = Decimal | int | str | float


class Tasks(Resource):
    """``harvest.tasks``: list, get, create, update, delete."""

    @operation("GET", "/tasks")
    def list(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[Task]:
        """List tasks, most recently created first.

        Args:
            is_active: Only active (``True``) or archived (``False``) tasks.
            updated_since: Only tasks updated since this aware datetime.
            per_page: Records per page, 1..2000 (Harvest's default 2000).

        Returns:
            A `Paginator` of `Task`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("tasks", "tasks", Task, params)

    @operation("GET", "/tasks/{taskId}")
    async def get(self, task_id: int) -> Task:
        """Retrieve one task."""
        return await self._get(Task, f"tasks/{check_id(task_id, 'task_id')}")

    @operation("POST", "/tasks")
    async def create(
        self,
        *,
        name: str,
        billable_by_default: bool | NotGiven = NOT_GIVEN,
        default_hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        is_default: bool | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
    ) -> Task:
        """Create a task.

        Args:
            name: The name of the task.
            billable_by_default: Whether it is billable when added to a new project
                (default ``True``).
            default_hourly_rate: Hourly rate used when it is added to a project
                (default 0).
            is_default: Add it to future projects automatically (default ``False``).
            is_active: Whether it is active (default ``True``).
        """
        fields = self._body()
        return await self._create(Task, "tasks", fields)

    @operation("PATCH", "/tasks/{taskId}")
    async def update(
        self,
        task_id: int,
        *,
        name: str | NotGiven = NOT_GIVEN,
        billable_by_default: bool | NotGiven = NOT_GIVEN,
        default_hourly_rate: Number | NotGiven | None = NOT_GIVEN,
        is_default: bool | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
    ) -> Task:
        """Change the given fields of a task (only those are sent).

        Args:
            task_id: The task to change.
            name: The name of the task.
            billable_by_default: Whether it is billable when added to a new project.
            default_hourly_rate: Hourly rate used when it is added to a project.
            is_default: Add it to future projects automatically.
            is_active: Whether it is active or archived.
        """
        tid = check_id(task_id, "task_id")
        fields = self._body()
        return await self._update(Task, f"tasks/{tid}", fields)

    @operation("DELETE", "/tasks/{taskId}")
    async def delete(self, task_id: int) -> None:
        """Delete a task (only one with no time entries)."""
        await self._delete(f"tasks/{check_id(task_id, 'task_id')}")
