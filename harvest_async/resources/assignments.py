"""Account-wide task and user assignments (list only).

Harvest docs:
https://help.getharvest.com/api-v2/projects-api/projects/task-assignments/#list-all-task-assignments,
https://help.getharvest.com/api-v2/projects-api/projects/user-assignments/#list-all-user-assignments.
The per-project operations are methods of `Projects`.
"""

from __future__ import annotations

import datetime as dt

from .._pagination import Paginator
from ..models.projects import TaskAssignment, UserAssignment
from ._base import NOT_GIVEN, NotGiven, PerPage, Resource, operation

__all__ = ["TaskAssignmentsResource", "UserAssignmentsResource"]


class TaskAssignmentsResource(Resource):
    """``harvest.task_assignments``: every task assignment of the account (list only)."""

    @operation("GET", "/task_assignments")
    def list(
        self,
        *,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[TaskAssignment]:
        """List the task assignments of every project, most recently created first.

        Args:
            is_active: Only active (``True``) or archived (``False``) assignments.
            updated_since: Only assignments updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `TaskAssignment`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("task_assignments", "task_assignments", TaskAssignment, params)


class UserAssignmentsResource(Resource):
    """``harvest.user_assignments``: every user assignment of the account (list only)."""

    @operation("GET", "/user_assignments")
    def list(
        self,
        *,
        user_id: int | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
    ) -> Paginator[UserAssignment]:
        """List the user assignments of every project, most recently created first.

        Args:
            user_id: Only assignments of this user.
            is_active: Only active (``True``) or archived (``False``) assignments.
            updated_since: Only assignments updated since this aware datetime.
            per_page: Records per page, 1..2000.

        Returns:
            A `Paginator` of `UserAssignment`; nothing is sent until iterated.
        """
        params = self._query()
        return self._paginate("user_assignments", "user_assignments", UserAssignment, params)
