"""A FastAPI app that shares one HarvestClient between all its requests.

Run it with $HARVEST_ACCESS_TOKEN and $HARVEST_ACCOUNT_ID set, from the clone of
harvest_async where the library is installed in .venv:

    .venv/bin/pip install fastapi uvicorn
    .venv/bin/uvicorn --app-dir docs/examples fastapi_app:app

Against the simulator instead, unchanged: start `python -m harvest_async.testing serve
--port 8080` and export the HARVEST_BASE_URL, HARVEST_ACCESS_TOKEN and
HARVEST_ACCOUNT_ID it prints.

- GET  /time-entries?limit=20&since=2025-01-01  the newest time entries
- POST /time-entries                            create one (JSON body)
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from functools import partial
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import harvest_async as ha
from harvest_async import get_harvest
from harvest_async.models import TimeEntry

# One client per process, opened at start-up and closed at shutdown (on app.state):
# every request shares its connection pool and its rate limiter (Harvest's 100 requests
# per 15 s). Token, account and base URL come from $HARVEST_*. A user waits at most 2 s
# for a rate-limit slot; past that the call fails with RateLimitTimeout (a 503 below).
app = FastAPI(
    title="Timesheet",
    lifespan=partial(ha.lifespan, user_agent="Timesheet app (ops@example.com)", max_wait=2.0),
)

Harvest = Annotated[ha.HarvestClient, Depends(get_harvest)]


class TimeEntryOut(BaseModel):
    id: int
    spent_date: dt.date
    hours: Decimal  # exact: serialized as the decimal text, e.g. "1.25"
    project: str | None
    task: str | None
    notes: str | None

    @classmethod
    def of(cls, entry: TimeEntry) -> TimeEntryOut:
        # Model fields are optional (None when Harvest leaves one out); these never are.
        assert entry.id is not None
        assert entry.spent_date is not None
        return cls(
            id=entry.id,
            spent_date=entry.spent_date,
            hours=entry.hours or Decimal(0),
            project=entry.project.name if entry.project else None,
            task=entry.task.name if entry.task else None,
            notes=entry.notes,
        )


class NewTimeEntry(BaseModel):
    project_id: int
    task_id: int
    spent_date: dt.date
    hours: Decimal = Field(gt=0, le=24)
    notes: str | None = None


@app.get("/time-entries")
async def recent_time_entries(
    harvest: Harvest,
    limit: Annotated[int, Query(ge=1, le=2000)] = 20,
    since: dt.date | None = None,
) -> list[TimeEntryOut]:
    """The newest time entries (Harvest lists them newest first)."""
    pager = harvest.time_entries.list(
        per_page=limit,
        from_=since if since is not None else ha.NOT_GIVEN,  # NOT_GIVEN: no filter
    )
    entries: list[TimeEntryOut] = []
    async for entry in pager:  # streams page by page; stop once we have enough
        entries.append(TimeEntryOut.of(entry))
        if len(entries) == limit:
            break
    return entries


@app.post("/time-entries", status_code=201)
async def create_time_entry(new: NewTimeEntry, harvest: Harvest) -> TimeEntryOut:
    """Track time. Harvest's own validation errors come back as 422."""
    try:
        entry = await harvest.time_entries.create(
            project_id=new.project_id,
            task_id=new.task_id,
            spent_date=new.spent_date,
            hours=new.hours,
            notes=new.notes,
        )
    except ha.ValidationError as exc:  # Harvest's 422: say why
        raise HTTPException(status_code=422, detail=exc.message) from exc
    return TimeEntryOut.of(entry)


@app.exception_handler(ha.NotFoundError)
async def not_found(request: Request, exc: ha.NotFoundError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=404)


@app.exception_handler(ha.RateLimitError)
async def throttled(request: Request, exc: ha.RateLimitError) -> JSONResponse:
    # A 429 that outlived the client's retries, or no slot within max_wait
    # (ha.RateLimitTimeout, nothing sent): ask our caller to come back later.
    retry_after = str(math.ceil(exc.retry_after or 15))
    return JSONResponse(
        {"detail": "Harvest is busy, try again later"},
        status_code=503,
        headers={"Retry-After": retry_after},
    )


@app.exception_handler(ha.HarvestError)
async def harvest_failed(request: Request, exc: ha.HarvestError) -> JSONResponse:
    # Anything else (network, 5xx after retries, ...): a bad gateway, without details.
    return JSONResponse({"detail": "Harvest request failed"}, status_code=502)
