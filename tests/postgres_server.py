"""A throwaway PostgreSQL server on 127.0.0.1: a free port, a temp dir, nothing kept.

Used by the sync target tests and benchmarks. The binaries are found in
``$PG_BIN`` or Debian's ``/usr/lib/postgresql/<version>/bin`` (``apt-get install
postgresql``), else on ``PATH``. ``initdb`` refuses to run as root: as root the server
runs as the ``postgres`` user (Debian's package creates it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["INSTALL_HINT", "PostgresServer", "find_pg_bin"]

INSTALL_HINT = (
    "PostgreSQL not found: install it (apt-get install postgresql) or set $PG_BIN to the "
    "folder holding initdb and pg_ctl"
)


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in candidates:
        if folder and all(os.access(Path(folder, b), os.X_OK) for b in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One ``postgres`` process in a temp dir; a context manager."""

    def __init__(self) -> None:
        found = find_pg_bin()
        if found is None:
            raise FileNotFoundError(INSTALL_HINT)
        self.bin = found
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self._dir = Path(tempfile.mkdtemp(prefix="harvest-async-pg-"))
        self.data = self._dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self._dir, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8")
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self._dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self._dir / "log"),
            "start",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("postgres did not start")

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
