"""Small paho helpers the tests use to play a device or an engineer's phone."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt


def _client(url: str, client_id: str | None = None) -> mqtt.Client:
    parts = urlsplit(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"test-{uuid.uuid4().hex[:8]}")
    client.connect(parts.hostname, parts.port or 1883)
    return client


def publish(url: str, messages: Iterable[tuple[str, bytes | str]], *, qos: int = 1, retain: bool = False) -> None:
    """Publish and wait until the broker has every message."""
    client = _client(url)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


class Subscriber:
    """Collects messages of a topic filter in a queue, for assertions."""

    def __init__(self, url: str, topic_filter: str) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._client = _client(url)
        self._client.on_message = lambda _c, _u, message: self.messages.put(message)
        self._client.subscribe(topic_filter, qos=1)
        self._client.loop_start()

    def get(self, timeout: float = 10.0) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
