"""``python -m harvest_async.testing serve`` as a real process, and the docs' FastAPI
example under uvicorn against it, driven by curl: every piece a separate process on
loopback ports, the app unchanged (it reads ``$HARVEST_BASE_URL`` and friends).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import harvest_async as ha

ROOT = Path(__file__).resolve().parent.parent
READ_TIMEOUT = 60.0


async def start_server(*args: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """Start ``serve`` with ``args``; return it and the environment lines it printed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harvest_async.testing",
        "serve",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    env: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), READ_TIMEOUT)).decode()
        if not line:
            raise AssertionError("serve ended before printing its settings")
        if line.startswith("#"):
            return proc, env
        name, _, value = line.removeprefix("export ").strip().partition("=")
        env[name] = value


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(proc.wait(), READ_TIMEOUT)


@contextlib.asynccontextmanager
async def serving(*args: str) -> AsyncIterator[dict[str, str]]:
    proc, env = await start_server(*args)
    try:
        yield env
    finally:
        assert await stop(proc) == 0  # a clean stop on SIGTERM


async def curl(*args: str) -> tuple[int, str]:
    """``curl -s`` with ``args``; the HTTP status and the body."""
    proc = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT)
    assert proc.returncode == 0, err.decode()
    body, _, status = out.decode().rpartition("\n")
    return int(status), body


async def test_serve_prints_what_a_client_needs_and_enforces_its_window() -> None:
    async with serving(
        "--port", "0", "--seed", "4", "--time-entries", "30", "--rate-limit", "5/60"
    ) as env:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v2", env["HARVEST_BASE_URL"])
        os_env = {**env, "HARVEST_USER_AGENT": "serve test (dev@example.com)"}
        with pytest.MonkeyPatch.context() as mp:
            for name, value in os_env.items():
                mp.setenv(name, value)
            # Everything from the environment; a limiter of the server's own size.
            async with ha.HarvestClient(rate_limiter=ha.TokenBucket(5, 60.0)) as harvest:
                entries = await harvest.time_entries.list(per_page=100).collect()
                assert len(entries) == 30
                me = await harvest.users.me()
                assert me.id is not None
            # 2 requests so far; past the window's 5, a client without a limiter gets
            # Harvest's 429.
            statuses = []
            for _ in range(4):
                status, _body = await curl(
                    "-H", f"Authorization: Bearer {env['HARVEST_ACCESS_TOKEN']}",
                    "-H", f"Harvest-Account-Id: {env['HARVEST_ACCOUNT_ID']}",
                    "-H", "User-Agent: curl test (dev@example.com)",
                    f"{env['HARVEST_BASE_URL']}/users/me",
                )  # fmt: skip
                statuses.append(status)
            assert statuses == [200, 200, 200, 429]


async def test_serve_refuses_bad_arguments_and_a_taken_port() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harvest_async.testing", "serve", "--rate-limit", "fast",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT)
    assert proc.returncode == 2
    assert "expected CAPACITY/SECONDS such as 100/15, got 'fast'" in err.decode()
    assert "Traceback" not in err.decode()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "harvest_async.testing", "serve", "--port", str(port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT)
    assert proc.returncode == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: cannot listen on 127.0.0.1:{port}")


async def test_fastapi_example_under_uvicorn_against_the_simulator_server() -> None:
    pytest.importorskip("fastapi", reason="the example needs fastapi: pip install fastapi")
    pytest.importorskip("uvicorn", reason="serving the example needs uvicorn: pip install uvicorn")
    if shutil.which("curl") is None:
        pytest.skip("this test drives the app with curl: apt-get install curl")
    async with serving("--port", "0", "--seed", "1", "--time-entries", "200") as env:
        app_env = {
            **os.environ,
            **env,
            "HARVEST_USER_AGENT": "uvicorn test (dev@example.com)",
            "PYTHONUNBUFFERED": "1",
        }
        app_env.pop("HARVEST_ASYNC_REQUIRE_SHARED", None)
        uvicorn = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", "--app-dir", "docs/examples", "fastapi_app:app",
            "--host", "127.0.0.1", "--port", "0", "--no-access-log",
            cwd=ROOT, env=app_env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert uvicorn.stderr is not None
        try:
            app_url = ""
            while not app_url:
                line = await asyncio.wait_for(uvicorn.stderr.readline(), READ_TIMEOUT)
                if not line:
                    raise AssertionError("uvicorn ended before serving")
                found = re.search(rb"running on (http://127\.0\.0\.1:\d+)", line)
                if found:
                    app_url = found.group(1).decode()

            status, body = await curl(f"{app_url}/time-entries?limit=5")
            assert status == 200, body
            entries = json.loads(body)
            assert len(entries) == 5
            assert all(isinstance(e["hours"], str) for e in entries)  # exact decimals
            dates = [e["spent_date"] for e in entries]
            assert dates == sorted(dates, reverse=True)

            # Find a project and task the token's user may track time on, as the
            # docs say, then create an entry through the app.
            with pytest.MonkeyPatch.context() as mp:
                for name, value in env.items():
                    mp.setenv(name, value)
                async with ha.HarvestClient(user_agent="uvicorn test (dev@example.com)") as h:
                    assignment = (await h.users.my_project_assignments().collect())[0]
            project = assignment.project
            assert project is not None
            task = assignment.task_assignments[0].task
            assert task is not None
            new = {
                "project_id": project.id,
                "task_id": task.id,
                "spent_date": "2025-01-14",
                "hours": "1.5",
                "notes": "via curl",
            }
            status, body = await curl(
                "-X", "POST", f"{app_url}/time-entries",
                "-H", "Content-Type: application/json", "-d", json.dumps(new),
            )  # fmt: skip
            assert status == 201, body
            created = json.loads(body)
            assert created["hours"] == "1.5"
            assert created["notes"] == "via curl"

            status, body = await curl(
                "-X", "POST", f"{app_url}/time-entries",
                "-H", "Content-Type: application/json", "-d", '{"project_id": "x"}',
            )  # fmt: skip
            assert status == 422, body
        finally:
            if uvicorn.returncode is None:
                uvicorn.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(uvicorn.wait(), READ_TIMEOUT) == 0
