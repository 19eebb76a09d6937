"""Runs one ``sync_account`` in its own process, so a test can SIGKILL it mid-run.

Usage: python -m tests.sync_driver BASE_URL TOKEN ACCOUNT_ID DB CAPACITY PERIOD

``DB`` is anything ``sync_account`` takes (a SQLite path, a ``postgresql://`` or
``duckdb:///`` URL). Prints one JSON line: the rows written per resource.
"""

from __future__ import annotations

import asyncio
import json
import sys

import harvest_async as ha
from harvest_async.sync import sync_account


async def main(
    base_url: str, token: str, account: str, db: str, capacity: int, period: float
) -> None:
    async with ha.HarvestClient(
        token,
        account,
        base_url=base_url,
        user_agent="sync-test (dev@example.com)",
        rate_limiter=ha.TokenBucket(capacity, period),
    ) as client:
        stats = await sync_account(client, db)
    print(json.dumps({s.name: s.rows_written for s in stats}))


if __name__ == "__main__":
    url, token, account, db, capacity, period = sys.argv[1:7]
    asyncio.run(main(url, token, account, db, int(capacity), float(period)))
