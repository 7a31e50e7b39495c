"""A Mosquitto of a test's own, on a free port, which the test may stop and start again on that same port.

Its persistence file lives in the test's temporary directory, so a graceful stop (SIGTERM) keeps the persistent
sessions and the QoS 1 messages queued for them, as a production broker does across a restart.
``max_queued_messages`` is raised: at Mosquitto's default of 1000 a subscriber that is away or behind loses
QoS 1 messages silently, which would hide what the tests look for. Skipped when there is no Mosquitto.

Import the fixture into a test module: ``from tests.fix_private_broker import private_broker``.
"""

from __future__ import annotations

import getpass
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from service_core.runtime.ports import free_port, wait_listening

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


class PrivateBroker:
    """One Mosquitto process at a time on ``port``, its state in ``directory``."""

    def __init__(self, binary: str, directory: Path, port: int) -> None:
        self.binary = binary
        self.directory = directory
        self.port = port
        self.starts = 0
        self._process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {port} 127.0.0.1\n"
            # run as root, Mosquitto would switch to the user 'mosquitto', who may not write here: it would then
            # neither save its state nor log, and say so nowhere
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            "autosave_interval 0\n"  # saved on a clean stop only: what a restart keeps is what SIGTERM saved
            "max_queued_messages 1000000\n"
            f"log_dest file {directory}/mosquitto.log\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts connections."""
        if self.running:
            raise RuntimeError("the broker is already running")
        self._process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        self.starts += 1
        try:
            wait_listening("127.0.0.1", self.port, timeout_s=timeout)
        except TimeoutError:
            self.stop(signal.SIGKILL)
            raise TimeoutError(f"mosquitto did not listen on {self.port}:\n{self.log()}") from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Stop the broker (SIGTERM: gracefully, saving its state); its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout)

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A running Mosquitto of this test's own (see the module); stopped afterwards."""
    if MOSQUITTO is None:
        pytest.skip("no mosquitto binary on this machine: the broker-restart tests need a Mosquitto of their own")
    broker = PrivateBroker(MOSQUITTO, tmp_path / "mosquitto", free_port())
    broker.start()
    yield broker
    broker.stop()
