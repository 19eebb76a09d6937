"""Time entries (https://help.getharvest.com/api-v2/timesheets-api/timesheets/time-entries/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from .._errors import InvalidRequestError
from .._pagination import Paginator
from ..models.time_entries import TimeEntry
from ._base import (
    NOT_GIVEN,
    NotGiven,
    PerPage,
    Resource,
    Shards,
    check_id,
    operation,
    query,
)

__all__ = ["TimeEntries"]

ApprovalStatus = Literal["unsubmitted", "submitted", "approved"]
Number = Decimal | int | str | float


def _external_reference(value: Mapping[str, Any] | NotGiven | None) -> Any:
    """Validate an ``external_reference`` object: id, group_id, account_id, permalink."""
    if value is NOT_GIVEN or value is None:
        return value
    allowed = {"id", "group_id", "account_id", "permalink"}
    unknown = set(value) - allowed
    if unknown:
        raise InvalidRequestError(
            f"external_reference has unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}"
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise InvalidRequestError(f"external_reference.{key} must be a string")
        out[key] = str(item)
    return out


def _check_time_fields(hours: Any, started_time: Any, ended_time: Any, *, call: str) -> None:
    if (
        hours is not NOT_GIVEN
        and hours is not None
        and (started_time is not NOT_GIVEN or ended_time is not NOT_GIVEN)
    ):
        raise InvalidRequestError(
            f"{call}: give hours (duration tracking) or started_time/ended_time "
            "(start and end time tracking), not both"
        )
    for name, value in (("started_time", started_time), ("ended_time", ended_time)):
        if value is NOT_GIVEN or value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise InvalidRequestError(f"{name} must be a time of day such as '8:00am' or '14:00'")


class TimeEntries(Resource):
    """``harvest.time_entries``: list, get, create, update, delete, stop, restart."""

    @operation("GET", "/time_entries")
    def list(
        self,
        *,
        user_id: int | NotGiven = NOT_GIVEN,
        client_id: int | NotGiven = NOT_GIVEN,
        project_id: int | NotGiven = NOT_GIVEN,
        task_id: int | NotGiven = NOT_GIVEN,
        external_reference_id: str | NotGiven = NOT_GIVEN,
        is_billed: bool | NotGiven = NOT_GIVEN,
        is_running: bool | NotGiven = NOT_GIVEN,
        approval_status: ApprovalStatus | NotGiven = NOT_GIVEN,
        updated_since: dt.datetime | str | NotGiven = NOT_GIVEN,
        from_: dt.date | str | NotGiven = NOT_GIVEN,
        to: dt.date | str | NotGiven = NOT_GIVEN,
        per_page: PerPage | NotGiven = NOT_GIVEN,
        shards: Shards | NotGiven = NOT_GIVEN,
    ) -> Paginator[TimeEntry]:
        """List time entries, newest ``spent_date`` first.

        For a bulk sync, ``shards=8`` (with ``from_`` and ``to``) cuts the span into 8
        contiguous ``spent_date`` ranges walked concurrently: every entry comes exactly
        once, pages as they arrive (``.with_options(ordered=True)`` for the unsharded
        order).

        Args:
            user_id: Only entries of this user.
            client_id: Only entries of this client.
            project_id: Only entries of this project.
            task_id: Only entries of this task.
            external_reference_id: Only entries with this external reference id.
            is_billed: Only invoiced (``True``) or uninvoiced (``False``) entries.
            is_running: Only running (``True``) or stopped (``False``) entries.
            approval_status: ``"unsubmitted"``, ``"submitted"`` or ``"approved"``.
            updated_since: Only entries updated since this aware datetime.
            from_: Only entries with ``spent_date`` on or after this date.
            to: Only entries with ``spent_date`` on or before this date.
            per_page: Records per page, 1..2000 (Harvest's default 2000).
            shards: Split ``from_``..``to`` into this many date ranges (1..100) fetched
                concurrently; needs both ``from_`` and ``to``.

        Returns:
            A `Paginator` of `TimeEntry`; nothing is sent until iterated.
        """
        filters = self._arguments("shards")
        if shards is not NOT_GIVEN:
            return self._paginate_sharded(
                "time_entries",
                "time_entries",
                TimeEntry,
                filters,
                shards=shards,
                call="time_entries.list",
            )
        return self._paginate("time_entries", "time_entries", TimeEntry, query(**filters))

    @operation("GET", "/time_entries/{timeEntryId}")
    async def get(self, time_entry_id: int) -> TimeEntry:
        """Retrieve one time entry."""
        return await self._get(TimeEntry, f"time_entries/{check_id(time_entry_id)}")

    @operation("POST", "/time_entries")
    async def create(
        self,
        *,
        project_id: int,
        task_id: int,
        spent_date: dt.date | str,
        user_id: int | NotGiven = NOT_GIVEN,
        hours: Number | NotGiven = NOT_GIVEN,
        started_time: str | NotGiven = NOT_GIVEN,
        ended_time: str | NotGiven = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        external_reference: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
    ) -> TimeEntry:
        """Create a time entry, by duration (``hours``) or by start and end time.

        On an account tracking by duration, leaving out ``hours`` starts a timer; on one
        tracking start and end times, leaving out ``ended_time`` starts a timer.

        Args:
            project_id: The project to track time on.
            task_id: The task to track time on.
            spent_date: The date the time was spent.
            user_id: The user (default: the authenticated user).
            hours: Duration in decimal hours (duration tracking).
            started_time: Start time of day, e.g. ``"8:00am"`` (start/end tracking).
            ended_time: End time of day, e.g. ``"9:00am"`` (start/end tracking).
            notes: Notes for the entry.
            external_reference: ``{"id", "group_id", "account_id", "permalink"}``.
        """
        _check_time_fields(hours, started_time, ended_time, call="time_entries.create")
        fields = self._body(external_reference=_external_reference(external_reference))
        return await self._create(TimeEntry, "time_entries", fields)

    @operation("POST", "/time_entries")
    async def create_by_duration(
        self,
        *,
        project_id: int,
        task_id: int,
        spent_date: dt.date | str,
        hours: Number | NotGiven = NOT_GIVEN,
        user_id: int | NotGiven = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        external_reference: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
    ) -> TimeEntry:
        """Create a time entry by duration (no ``hours``: start a timer).

        Args:
            project_id: The project to track time on.
            task_id: The task to track time on.
            spent_date: The date the time was spent.
            hours: Duration in decimal hours; leave out to start a timer.
            user_id: The user (default: the authenticated user).
            notes: Notes for the entry.
            external_reference: ``{"id", "group_id", "account_id", "permalink"}``.
        """
        return await self.create(
            project_id=project_id,
            task_id=task_id,
            spent_date=spent_date,
            hours=hours,
            user_id=user_id,
            notes=notes,
            external_reference=external_reference,
        )

    @operation("POST", "/time_entries")
    async def create_by_start_end(
        self,
        *,
        project_id: int,
        task_id: int,
        spent_date: dt.date | str,
        started_time: str,
        ended_time: str | NotGiven = NOT_GIVEN,
        user_id: int | NotGiven = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        external_reference: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
    ) -> TimeEntry:
        """Create a time entry by start and end time (no ``ended_time``: start a timer).

        Args:
            project_id: The project to track time on.
            task_id: The task to track time on.
            spent_date: The date the time was spent.
            started_time: Start time of day, e.g. ``"8:00am"``.
            ended_time: End time of day; leave out to start a timer.
            user_id: The user (default: the authenticated user).
            notes: Notes for the entry.
            external_reference: ``{"id", "group_id", "account_id", "permalink"}``.
        """
        return await self.create(
            project_id=project_id,
            task_id=task_id,
            spent_date=spent_date,
            started_time=started_time,
            ended_time=ended_time,
            user_id=user_id,
            notes=notes,
            external_reference=external_reference,
        )

    @operation("PATCH", "/time_entries/{timeEntryId}")
    async def update(
        self,
        time_entry_id: int,
        *,
        project_id: int | NotGiven = NOT_GIVEN,
        task_id: int | NotGiven = NOT_GIVEN,
        spent_date: dt.date | str | NotGiven = NOT_GIVEN,
        started_time: str | NotGiven = NOT_GIVEN,
        ended_time: str | NotGiven = NOT_GIVEN,
        hours: Number | NotGiven = NOT_GIVEN,
        notes: str | NotGiven | None = NOT_GIVEN,
        external_reference: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
    ) -> TimeEntry:
        """Change the given fields of a time entry (only those are sent).

        Args:
            time_entry_id: The entry to change.
            project_id: Move it to this project.
            task_id: Move it to this task.
            spent_date: Its date.
            started_time: Start time of day (start/end tracking).
            ended_time: End time of day (start/end tracking).
            hours: Duration in decimal hours (duration tracking).
            notes: Its notes (``None`` clears them).
            external_reference: ``{"id", "group_id", "account_id", "permalink"}``.
        """
        entry_id = check_id(time_entry_id, "time_entry_id")
        _check_time_fields(hours, started_time, ended_time, call="time_entries.update")
        fields = self._body(external_reference=_external_reference(external_reference))
        return await self._update(TimeEntry, f"time_entries/{entry_id}", fields)

    @operation("DELETE", "/time_entries/{timeEntryId}")
    async def delete(self, time_entry_id: int) -> None:
        """Delete a time entry (only possible while it is not closed or invoiced)."""
        await self._delete(f"time_entries/{check_id(time_entry_id, 'time_entry_id')}")

    @operation("DELETE", "/time_entries/{timeEntryId}/external_reference")
    async def delete_external_reference(self, time_entry_id: int) -> None:
        """Remove the external reference of a time entry."""
        entry_id = check_id(time_entry_id, "time_entry_id")
        await self._delete(f"time_entries/{entry_id}/external_reference")

    @operation("PATCH", "/time_entries/{timeEntryId}/stop")
    async def stop(self, time_entry_id: int) -> TimeEntry:
        """Stop a running timer. Never re-sent once it may have reached Harvest."""
        entry_id = check_id(time_entry_id, "time_entry_id")
        return await self._action(TimeEntry, "PATCH", f"time_entries/{entry_id}/stop")

    @operation("PATCH", "/time_entries/{timeEntryId}/restart")
    async def restart(self, time_entry_id: int) -> TimeEntry:
        """Restart a stopped timer. Never re-sent once it may have reached Harvest."""
        entry_id = check_id(time_entry_id, "time_entry_id")
        return await self._action(TimeEntry, "PATCH", f"time_entries/{entry_id}/restart")
