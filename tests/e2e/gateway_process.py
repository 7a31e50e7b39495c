"""``fleetcare gateway`` as a process of its own, as an operator runs it: started, killed, started again.

The process leads a process group of its own, so the detector processes it starts can be found (and, should
one outlive it, ended) by that group; its output goes to a file, which a busy pipe could never block.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from service_core.runtime.ports import free_port
from tests.prometheus_text import parse

_STARTED = re.compile(r"^gateway \S+ consuming .* metrics on (http://\S+)/metrics", re.MULTILINE)


class GatewayProcess:
    """One gateway process at a time, always with the same settings (and so the same MQTT client id)."""

    def __init__(self, *, database_url: str, mqtt_url: str, topic_root: str, client_id: str, directory: Path) -> None:
        """``directory`` holds the process's output (``gateway.log``) and its data directory (its disk spool)."""
        self.env = {
            **os.environ, "FLEETCARE_DATABASE_URL": database_url, "FLEETCARE_MQTT_URL": mqtt_url,
            "FLEETCARE_TOPIC_ROOT": topic_root, "FLEETCARE_MQTT5": "1", "FLEETCARE_GATEWAY_CLIENT_ID": client_id,
            "FLEETCARE_GATEWAY_METRICS_PORT": str(free_port()), "FLEETCARE_DATA_DIR": str(directory / "data"),
        }
        self.log = directory / "gateway.log"
        self.base_url: str | None = None
        self.groups: list[int] = []  # every process group started, the first one's included
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until its worker is subscribed (its health endpoint says so)."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self._process = subprocess.Popen([sys.executable, "-m", "service_core.cli", "gateway"], env=self.env,
                                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.groups.append(self._process.pid)
        deadline = time.monotonic() + timeout
        while (started := _STARTED.search(self.output(offset))) is None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start (exit code {self._process.poll()}):\n{self.output()}")
            time.sleep(0.05)
        self.base_url = started.group(1)
        while not self.connected():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not subscribe:\n{self.output()}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def health(self) -> dict:
        return httpx.get(f"{self.base_url}/health", timeout=2).json()

    def connected(self) -> bool:
        try:
            return self.health().get("broker") == "connected"
        except httpx.HTTPError:
            return False

    def metric(self, name: str, **labels: str) -> float:
        return parse(httpx.get(f"{self.base_url}/metrics", timeout=2).text)[name].value(**labels)

    def kill(self) -> None:
        """SIGKILL the gateway process itself, as the kernel's OOM killer or a power cut would: no clean-up."""
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        """Stop it as an operator does (SIGTERM); its exit code."""
        self._process.send_signal(signal.SIGTERM)
        return self._process.wait(timeout)

    def survivors(self, groups: list[int] | None = None) -> list[psutil.Process]:
        """Processes still running in the process groups of this gateway's starts (all of them by default): a
        detector outliving its gateway would be one."""
        groups = self.groups if groups is None else groups
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(process.pid) in groups and process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
        return found

    def close(self) -> None:
        """End whatever this gateway started that is still running."""
        if self.alive():
            self._process.kill()
            self._process.wait(10)
        for process in self.survivors():
            with contextlib.suppress(psutil.Error):
                process.kill()

    def output(self, offset: int = 0) -> str:
        if not self.log.exists():
            return ""
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
