"""A private PostgreSQL server that a test may stop and start at will.

The shared test server (TEST_DATABASE_URL) serves every other test, so outages are rehearsed on
a throwaway cluster made with the same Debian binaries: `initdb` into a temporary directory,
`pg_ctl start` on a free loopback port with password (SCRAM) authentication, and `pg_ctl stop`
in the mode the test asks for (`fast` closes sessions cleanly, `immediate` is a crash). When the
tests run as root (as CI does), the server runs as the `postgres` system user, since PostgreSQL
refuses to run as root.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL

USER = "alliance"
DATABASE = "alliance"


def _binaries() -> Path:
    """The newest installed server's bin directory (Debian keeps them out of PATH)."""
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parts[-3]))
    if not installed:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql (install `postgresql`)")
    return installed[-1].parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """One throwaway cluster with one database, `DATABASE`, owned by `USER`."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.port = _free_port()
        self.bin = _binaries()
        self.root = Path(tempfile.mkdtemp(prefix="alliance-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return URL.create(
            "postgresql+asyncpg", username=USER, password=self.password, host="127.0.0.1", port=self.port,
            database=DATABASE,
        ).render_as_string(hide_password=False)

    def _run(self, *command: str | Path) -> None:
        argv = [str(part) for part in command]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        environment = {**os.environ, "PGPASSWORD": self.password}
        completed = subprocess.run(argv, capture_output=True, text=True, check=False, env=environment)
        if completed.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed: {completed.stderr or completed.stdout}\n{log}")

    def create(self) -> None:
        password_file = self.root / "password"
        password_file.write_text(self.password)
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(password_file, "postgres", "postgres")
        self._run(
            self.bin / "initdb", "-D", self.data, "-U", USER, f"--pwfile={password_file}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync",
        )
        password_file.unlink()
        self.start()
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(self.bin / "pg_ctl", "start", "-w", "-D", self.data, "-l", self.log, "-o", options)

    def stop(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        self._run(self.bin / "pg_ctl", "stop", "-w", "-D", self.data, "-m", mode)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    async def create_async(self) -> None:
        await asyncio.to_thread(self.create)

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start)

    async def stop_async(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        await asyncio.to_thread(self.stop, mode)
