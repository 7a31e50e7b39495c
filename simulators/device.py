"""One simulated asset on the broker: it connects like field equipment and publishes what its sensors read.

The device announces itself with a retained ``online`` on every connection and
leaves a retained ``offline`` as its Last Will, also published on a clean stop.
paho's network thread reconnects on its own; samples taken meanwhile wait in
its queue (QoS 1 and 2) or are lost (QoS 0), as on a real gateway link.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from simulators.equipment import Equipment
from simulators.errors import ConfigRejected
from simulators.topics import DeviceTopics

log = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"
_QUEUE_LIMIT = 10_000  # messages held while the broker is away


def timestamp(epoch_s: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, e.g. ``2026-11-22T08:00:00.200Z``."""
    ms = round(epoch_s * 1000)
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


class Device:
    """A unit's sensors behind an MQTT client; one scheduler thread calls :meth:`sample`."""

    def __init__(
        self,
        asset_id: str,
        site_id: str,
        unit: Equipment,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        topic_root: str = "fleet",
        qos: int = 1,
        batch: int = 1,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        mqtt_v5: bool = False,
        keepalive: int = 30,
    ) -> None:
        if qos not in (0, 1, 2):
            raise ConfigRejected(f"qos must be 0, 1 or 2, got {qos!r}")
        if not (isinstance(batch, int) and 1 <= batch <= 1000):
            raise ConfigRejected(f"batch must be 1..1000 samples per message, got {batch!r}")
        self.asset_id = asset_id
        self.site_id = site_id
        self.unit = unit
        self.topics = DeviceTopics.of(topic_root, site_id, asset_id)
        self.qos = qos
        self.batch = batch
        self.published = 0  # telemetry messages handed to the client (sent, or queued for the broker)
        self.dropped = 0  # telemetry messages the client refused (QoS 0 while away, queue full)
        self.seq = 0  # the next sample's number
        self._server = (host, port, keepalive)
        self._auth = (username, password)
        self._tls = tls
        self._mqtt_v5 = mqtt_v5
        self._pending: list[dict] = []
        self._connected = threading.Event()
        self._client: mqtt.Client | None = None

    @property
    def online(self) -> bool:
        """Whether the client is connected to the broker now."""
        return self._connected.is_set()

    def connect(self) -> None:
        """Start connecting in the background; the client keeps reconnecting until :meth:`close`."""
        if self._client is not None:
            return
        # A fresh suffix per run: two simulators naming the same asset must not keep kicking each other off.
        client_id = f"sim-{self.asset_id}-{uuid.uuid4().hex[:8]}"
        protocol = mqtt.MQTTv5 if self._mqtt_v5 else mqtt.MQTTv311
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        if self._auth[0] is not None:
            client.username_pw_set(*self._auth)
        if self._tls:
            client.tls_set()
        client.will_set(self.topics.status, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(1, 30)
        client.max_queued_messages_set(_QUEUE_LIMIT)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        host, port, keepalive = self._server
        client.connect_async(host, port, keepalive)
        self._client = client
        client.loop_start()

    def wait_online(self, timeout: float) -> bool:
        """Wait until connected; False if ``timeout`` seconds pass first."""
        return self._connected.wait(timeout)

    def sample(self, t_s: float, at: float) -> None:
        """Read the unit ``t_s`` seconds after it started, stamped with wall-clock ``at`` (epoch seconds)."""
        metrics = {name: round(value, 3) for name, value in self.unit.step(t_s).items()}
        self._pending.append({"ts": timestamp(at), "seq": self.seq, "metrics": metrics})
        self.seq += 1
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Publish the samples not yet sent: one object, or an array in batch mode."""
        if not self._pending:
            return
        body = self._pending[0] if self.batch == 1 else self._pending
        self._pending = []
        if self._client is None:
            self.dropped += 1
            return
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False)
        info = self._client.publish(self.topics.telemetry, payload, self.qos)
        queued = info.rc == mqtt.MQTT_ERR_NO_CONN and self.qos > 0
        if info.rc == mqtt.MQTT_ERR_SUCCESS or queued:
            self.published += 1
        else:
            self.dropped += 1

    def cut_connection(self) -> None:
        """Drop the TCP connection without a DISCONNECT, as a power or network failure would.

        The broker then publishes the Last Will; the client reconnects by itself.
        """
        sock = self._client.socket() if self._client is not None else None
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone

    def close(self, timeout: float = 2.0) -> None:
        """Stop cleanly: send what is pending, publish ``offline``, disconnect."""
        client = self._client
        if client is None:
            return
        self.flush()
        if self._connected.is_set():
            info = client.publish(self.topics.status, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                log.warning("%s: could not publish offline before stopping", self.asset_id)
        client.disconnect()
        client.loop_stop()
        self._client = None
        self._connected.clear()

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("%s: broker refused the connection: %s", self.asset_id, reason_code)
            return
        client.publish(self.topics.status, ONLINE, qos=1, retain=True)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        if reason_code.is_failure:
            log.info("%s: connection lost (%s), reconnecting", self.asset_id, reason_code)
