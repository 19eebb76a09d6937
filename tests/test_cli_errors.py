"""Every problem the command line meets is one line on standard error and an exit code.

Database problems (exit 6): a missing folder, a directory, a file that is not a
database, a corrupt database, a read-only file or place, a full disk. Tests run as root
here, and root writes through file modes, so read-only is made three ways that hold for
root too: the file opened through SQLite's ``mode=ro`` URI, the file marked immutable
(``FS_IMMUTABLE_FL``, skipped where the file system or the process may not set it), and
a database path inside ``/proc``, where nobody can create a file.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import hashlib
import json
import os
import pickle
import signal
import sqlite3
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import harvest_async as ha
from harvest_async import cli, sync
from harvest_async.cli import main

DEMO = ["--demo", "--quiet"]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("harvest-async: error: "), err
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return list(con.execute(f'SELECT * FROM "{table}" ORDER BY id'))
    finally:
        con.close()


def quick_check(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:  # too broken to check
        return [str(exc)]
    finally:
        con.close()


@pytest.fixture
def mirror(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A good mirror of the demo's clients."""
    db = tmp_path / "mirror.db"
    assert main(["sync", *DEMO, "--db", str(db), "--resources", "clients"]) == 0
    capsys.readouterr()
    return db


# ---------------------------------------------------------------- database problems


def test_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "nope" / "mirror.db"
    assert main(["sync", *DEMO, "--db", str(db)]) == cli.EXIT_DATABASE == 6
    assert "its folder does not exist" in one_error_line(capsys)
    assert not db.parent.exists()


def test_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", *DEMO, "--db", str(tmp_path)]) == 6
    assert "it is a directory" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("these are my notes, not a database\n" * 200)
    before = digest(db)
    assert main(["sync", *DEMO, "--db", str(db)]) == 6
    assert "not a SQLite database" in one_error_line(capsys)
    assert digest(db) == before


def scribble(f: BinaryIO, page: int, page_size: int) -> None:
    """Garbage over a page's cell pointers: SQLite finds the file malformed."""
    f.seek(page_size * (page - 1) + 8)
    f.write(b"\xff" * 64)


def swap_rows(f: BinaryIO, page: int, page_size: int) -> None:
    """The first two rows of a leaf page swapped: out of order, a file that opens."""
    start = page_size * (page - 1)
    f.seek(start)
    assert f.read(1) == b"\x0d"  # a table leaf page
    f.seek(start + 8)
    pointers = f.read(4)
    f.seek(start + 8)
    f.write(pointers[2:] + pointers[:2])


def wrong_freelist(f: BinaryIO, page: int, page_size: int) -> None:
    """The header's count of free pages made wrong."""
    f.seek(36)
    f.write((7).to_bytes(4, "big"))


@pytest.mark.parametrize("damage", [scribble, swap_rows, wrong_freelist])
def test_corrupt_database_is_refused_untouched(
    damage: Callable[[BinaryIO, int, int], None],
    mirror: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    con = sqlite3.connect(mirror)
    con.execute("PRAGMA journal_mode=DELETE")  # everything in the main file
    con.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
    con.executemany("INSERT INTO filler VALUES (?, ?)", [(i, f"{i:0200}") for i in range(2000)])
    con.commit()
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    # A leaf page of the filler table, in the middle of it.
    try:
        (page,) = con.execute(
            "SELECT pageno FROM dbstat WHERE name = 'filler' AND pagetype = 'leaf' "
            "ORDER BY pageno LIMIT 1 OFFSET 20"
        ).fetchone()
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table")
    con.close()
    with open(mirror, "r+b") as f:
        damage(f, page, page_size)
    assert quick_check(mirror) != ["ok"]
    before = digest(mirror)
    assert main(["sync", *DEMO, "--db", str(mirror)]) == 6
    line = one_error_line(capsys)
    assert "the database is corrupt" in line
    assert "restore it from a backup or sync into a new file" in line
    assert digest(mirror) == before
    assert not Path(f"{mirror}-wal").exists()


def test_read_only_database_through_mode_ro(
    mirror: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    connect = sqlite3.connect

    def read_only(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(database) == str(mirror):
            return connect(f"file:{mirror}?mode=ro", *args, uri=True, **kwargs)
        return connect(database, *args, **kwargs)

    before = rows(mirror, "clients")
    monkeypatch.setattr(sync.sqlite3, "connect", read_only)
    assert main(["sync", *DEMO, "--db", str(mirror), "--full"]) == 6
    assert "read-only" in one_error_line(capsys)
    monkeypatch.undo()
    assert rows(mirror, "clients") == before
    assert quick_check(mirror) == ["ok"]


FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``path`` made immutable (even root cannot open it for writing), or a skip."""

    def set_flag(on: bool) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            flags = array.array("l", [0])
            fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
            flags[0] = flags[0] | FS_IMMUTABLE_FL if on else flags[0] & ~FS_IMMUTABLE_FL
            fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags, True)
        finally:
            os.close(fd)

    try:
        set_flag(True)
    except OSError as exc:
        pytest.skip(f"cannot make a file immutable here: {exc.strerror}")
    try:
        yield
    finally:
        set_flag(False)


@pytest.mark.skipif(sys.platform != "linux", reason="Linux file flags")
def test_read_only_database_file(mirror: Path, capsys: pytest.CaptureFixture[str]) -> None:
    con = sqlite3.connect(mirror)
    con.execute("PRAGMA journal_mode=DELETE")  # no -wal / -shm to write either
    con.close()
    before = digest(mirror)
    with immutable(mirror):
        with pytest.raises(PermissionError):
            open(mirror, "r+b")  # noqa: SIM115 - the point is that it fails
        assert main(["sync", *DEMO, "--db", str(mirror)]) == 6
        assert "read-only" in one_error_line(capsys)
    assert digest(mirror) == before


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs procfs")
def test_a_place_nobody_may_create_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", *DEMO, "--db", "/proc/harvest-async-mirror.db"]) == 6
    assert "cannot open or create it there" in one_error_line(capsys)


def test_disk_full_surfaces_as_such_and_leaves_a_good_database(
    mirror: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rows(mirror, "clients")
    opened = sync.open_db

    def nearly_full(path: str | Path) -> sqlite3.Connection:
        db = opened(path)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count={pages + 8}")  # room for a few pages only
        return db

    monkeypatch.setattr(sync, "open_db", nearly_full)
    assert main(["sync", *DEMO, "--db", str(mirror), "--full"]) == 6
    line = one_error_line(capsys)
    assert "the database or the disk is full" in line
    assert "rollback" not in line
    monkeypatch.undo()
    assert quick_check(mirror) == ["ok"]
    assert set(before) <= set(rows(mirror, "clients"))  # whole pages only, none lost
    con = sqlite3.connect(mirror)
    done = {r[0] for r in con.execute("SELECT resource FROM sync_state")}
    con.close()
    assert "time_entries" not in done  # no checkpoint ran ahead of its rows
    # With room again, the next run completes.
    assert main(["sync", *DEMO, "--db", str(mirror)]) == 0


def test_injected_disk_full_during_a_page(
    mirror: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Full(sqlite3.Connection):
        def executemany(self, sql: str, params: Any, /) -> sqlite3.Cursor:
            if sql.startswith("INSERT"):
                raise sqlite3.OperationalError("database or disk is full")
            return super().executemany(sql, params)

    connect = sqlite3.connect

    def full(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        return connect(database, *args, factory=Full, **kwargs)

    before = rows(mirror, "clients")
    monkeypatch.setattr(sync.sqlite3, "connect", full)
    assert main(["sync", *DEMO, "--db", str(mirror), "--full"]) == 6
    assert "the database or the disk is full" in one_error_line(capsys)
    monkeypatch.undo()
    assert rows(mirror, "clients") == before


def test_a_failed_rollback_does_not_hide_the_error() -> None:
    """SQLite rolled back by itself; the ROLLBACK that then fails is not what is raised."""
    db = sqlite3.connect(":memory:", isolation_level=None)

    def body() -> None:
        with sync._transaction(db):
            db.execute("ROLLBACK")  # as SQLite does on SQLITE_FULL
            raise sqlite3.OperationalError("the real problem")

    with pytest.raises(sqlite3.OperationalError, match="the real problem"):
        body()
    assert not db.in_transaction


# ---------------------------------------------------------------- the CLI's words


@pytest.mark.parametrize(
    ("env", "argv", "expected"),
    [
        (
            {"HARVEST_ACCOUNT_ID": "1"},
            [],
            "no access token: give --token or set $HARVEST_ACCESS_TOKEN",
        ),
        (
            {"HARVEST_ACCESS_TOKEN": "t"},
            [],
            "no account id: give --account-id or set $HARVEST_ACCOUNT_ID",
        ),
        (
            {},
            ["--token", "t", "--account-id", "abc"],
            "--account-id must be the numeric Harvest account id",
        ),
        ({}, ["--token", "t", "--account-id", "1", "--user-agent", "a\nb"], "--user-agent must"),
    ],
)
def test_settings_errors_name_the_options(
    env: dict[str, str],
    argv: list[str],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HARVEST_ACCESS_TOKEN", "HARVEST_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["sync", "--db", str(tmp_path / "x.db"), *argv]) == 2
    line = one_error_line(capsys)
    assert expected in line
    assert "access_token" not in line
    assert "account_id" not in line
    assert "=" not in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required"),
        (["sync"], "the following arguments are required: --db"),
        (["export", "nope"], "argument RESOURCE: invalid choice: 'nope'"),
        (["sync", "--db", "x.db", "--max-retries", "-1"], "argument --max-retries"),
        (["sync", "--db", "x.db", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_usage_errors_are_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    line = one_error_line(capsys)
    assert expected in line
    assert "usage:" not in line


@pytest.mark.parametrize("value", ["", " , ", ","])
def test_empty_resources_is_an_error(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    assert main(["sync", *DEMO, "--db", str(db), "--resources", value]) == 2
    assert "--resources is empty" in one_error_line(capsys)
    assert not db.exists()


def test_resources_company_syncs_the_company_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    assert main(["sync", "--demo", "--db", str(db), "--resources", "company"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out[1:-1]] == ["company"]
    assert sync.table_counts(db) == {"company": 1}


def test_resources_without_company_leave_it_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    assert main(["sync", "--demo", "--db", str(db), "--resources", "roles"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out[1:-1]] == ["roles"]


def test_export_company(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "company", "--demo"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["name"]
    out = tmp_path / "company.csv"
    assert main(["export", "company", "--demo", "--format", "csv", "-o", str(out)]) == 0
    header, row = out.read_text().splitlines()
    assert header.startswith("base_uri,")
    assert "Simulated" in row
    assert "wrote 1 company" in capsys.readouterr().err
    assert main(["export", "company", "--demo", "--updated-since", "2024-01-01"]) == 2
    assert "--updated-since does not apply to company" in one_error_line(capsys)


# ---------------------------------------------------------------- interruptions


def interrupt_after(monkeypatch: pytest.MonkeyPatch, records: int) -> None:
    """A real SIGINT (as from Ctrl-C) once ``records`` have been written."""
    write = cli._Writer.write
    written = 0

    def writing(self: cli._Writer, item: Any) -> None:
        nonlocal written
        write(self, item)
        written += 1
        if written == records:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(cli._Writer, "write", writing)


@pytest.mark.parametrize("existing", [False, True])
def test_interrupted_export_leaves_no_partial_file(
    existing: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "entries.jsonl"
    if existing:
        out.write_text("an earlier, complete export\n")
    interrupt_after(monkeypatch, 3000)  # the second page of 2000
    argv = ["export", "time_entries", "--demo", "-o", str(out)]
    assert main(argv) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["harvest-async: interrupted"]
    assert list(tmp_path.iterdir()) == ([out] if existing else [])
    if existing:
        assert out.read_text() == "an earlier, complete export\n"


def test_failed_export_keeps_the_earlier_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "clients.csv"
    out.write_text("earlier\n")
    out.chmod(0o640)

    def broken(self: cli._Writer, item: Any) -> None:
        raise ha.TransportError("connection reset")

    monkeypatch.setattr(cli._Writer, "write", broken)
    assert main(["export", "clients", "--demo", "-o", str(out)]) == 4
    one_error_line(capsys)
    assert list(tmp_path.iterdir()) == [out]
    assert out.read_text() == "earlier\n"
    monkeypatch.undo()
    assert main(["export", "clients", "--demo", "-o", str(out), "--quiet"]) == 0
    assert out.read_text().startswith('{"')
    assert out.stat().st_mode & 0o777 == 0o640  # the file it replaced kept its mode


def test_ctrl_c_before_the_run_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted() -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["sync", "--demo", "--db", "x.db"]) == 130
    assert capsys.readouterr().err == "harvest-async: interrupted\n"


def test_ctrl_c_while_the_simulator_starts_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = cli.demo_settings

    def ctrl_c_now() -> dict[str, Any]:
        signal.raise_signal(signal.SIGINT)  # a real signal, handled by asyncio.run
        return settings()

    monkeypatch.setattr(cli, "demo_settings", ctrl_c_now)
    db = tmp_path / "x.db"
    assert main(["sync", "--demo", "--db", str(db)]) == 130
    assert capsys.readouterr().err == "harvest-async: interrupted\n"
    assert not cli.demo_state_path(db).exists()


# ---------------------------------------------------------------- exception names


PUBLIC_ERRORS = [
    ha.HarvestError("x"),
    ha.ConfigurationError("x"),
    ha.InvalidRequestError("x"),
    ha.TransportError("x"),
    ha.DecodeError("x"),
    *(
        cls("x", status=400, method="GET", url="https://api.harvestapp.com/v2/x", body={"a": 1})
        for cls in (
            ha.APIError,
            ha.BadRequestError,
            ha.AuthenticationError,
            ha.PermissionDeniedError,
            ha.NotFoundError,
            ha.ValidationError,
            ha.ServerError,
        )
    ),
    ha.RateLimitError("x", status=429, method="GET", url="u", retry_after=3.0),
]


@pytest.mark.parametrize("exc", PUBLIC_ERRORS, ids=lambda e: type(e).__name__)
def test_public_errors_show_and_pickle_under_harvest_async(exc: Exception) -> None:
    name = type(exc).__name__
    assert type(exc).__module__ == "harvest_async"
    assert getattr(ha, name) is type(exc)
    assert traceback.format_exception_only(exc)[0].startswith(f"harvest_async.{name}: ")
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert str(copy) == str(exc)
    assert copy.__dict__ == exc.__dict__


def test_ctrl_c_while_the_command_line_loads_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The script's entry imports the command line inside its guard."""
    import importlib.abc
    import sys

    import harvest_async.__main__ as entry

    class Interrupting(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> None:
            if name == "harvest_async.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "harvest_async.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    assert entry.main(["--version"]) == 130
    assert capsys.readouterr().err == "harvest-async: interrupted\n"


def test_importing_the_package_loads_no_http_stack() -> None:
    """``import harvest_async`` is quick: aiohttp, msgspec and the rest load on first use."""
    import subprocess
    import sys

    code = (
        "import sys, harvest_async as ha; "
        "heavy = ('aiohttp', 'msgspec', 'cattrs', 'tenacity'); "
        "print(sorted(m for m in heavy if m in sys.modules)); "
        "ha.HarvestClient; print('aiohttp' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True"


# --- the cli extra ----------------------------------------------------------------------


def test_without_the_cli_extra_the_command_line_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # as if rich were not installed
    db = tmp_path / "demo.db"
    assert main(["sync", *DEMO, "--db", str(db)]) == cli.EXIT_MISSING_EXTRA == 7
    line = one_error_line(capsys)
    assert "rich" in line
    assert "pip install -e '.[cli]'" in line
    assert not db.exists()  # nothing ran


def test_the_console_script_without_rich_exits_7_on_one_line(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys; sys.modules['rich'] = None; "
        "from harvest_async.__main__ import main; sys.exit(main(['--help']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 7
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "cli extra" in done.stderr


def test_rich_is_in_the_cli_extra_not_in_the_core_dependencies() -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(dep.startswith("rich") for dep in project["dependencies"])
    assert any(dep.startswith("rich") for dep in project["optional-dependencies"]["cli"])
    assert cli.CLI_EXTRA == ("rich",)
