"""The embedded MQTT broker (amqtt, pure Python) in a child process of its own, on a free port."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

from service_core.runtime.ports import free_port


class EmbeddedBroker:
    """amqtt speaks MQTT 3.1.1 only: clients of it must not ask for v5."""

    def __init__(self, *, preferred_port: int | None = 1883) -> None:
        self.preferred_port = preferred_port
        self.port: int | None = None
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.port = free_port(self.preferred_port)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "service_core.runtime.embedded_broker", str(self.port)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches us, and we stop the broker last
        )
        ready = self._process.stdout.readline().strip()
        if ready != "ready":
            self.stop()
            raise RuntimeError(f"the embedded MQTT broker did not start on port {self.port}")
        return self.url

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._process = None


async def _serve(port: int) -> None:
    from amqtt.broker import Broker
    from amqtt.contexts import BrokerConfig, ListenerConfig

    config = BrokerConfig(
        listeners={"default": ListenerConfig(bind=f"127.0.0.1:{port}")},
        plugins={"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    )
    broker = Broker(config)
    await broker.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
