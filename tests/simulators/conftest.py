"""A plain paho subscriber to watch what simulated devices publish on the real broker."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


class Watcher:
    """Everything the broker delivers under ``topic_filter`` from the moment it subscribed."""

    def __init__(self, url: str, topic_filter: str) -> None:
        parts = urlsplit(url)
        self.messages: list[Message] = []
        self._changed = threading.Condition()
        subscribed = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"watch-{uuid.uuid4().hex[:8]}")
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
        self._client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self._client.loop_start()
        if not subscribed.wait(5):
            self.close()
            raise TimeoutError(f"could not subscribe to {topic_filter}")

    def _on_message(self, client, userdata, message) -> None:
        with self._changed:
            self.messages.append(Message(message.topic, bytes(message.payload), bool(message.retain)))
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[Message]], bool], timeout: float = 5.0) -> list[Message]:
        """The messages so far, once ``predicate`` holds for them; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"timed out; received {len(self.messages)} messages: {self.messages[-5:]}")
                self._changed.wait(left)
            return list(self.messages)

    def on(self, topic_suffix: str) -> list[Message]:
        with self._changed:
            return [m for m in self.messages if m.topic.endswith(topic_suffix)]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def clear_retained(url: str, root: str) -> None:
    """Clear every retained message under ``root`` so the broker is left as the test found it."""
    sweeper = Watcher(url, f"{root}/#")
    time.sleep(0.2)  # retained messages follow the subscription acknowledgement
    sweeper.close()
    retained = {m.topic for m in sweeper.messages if m.retain}
    if not retained:
        return
    parts = urlsplit(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    for topic in retained:
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def broker(mqtt_url: str, topic_root: str) -> Iterator[dict]:
    """Where a test's fleet publishes: the real broker, under the test's own topic root."""
    parts = urlsplit(mqtt_url)
    yield {"host": parts.hostname, "port": parts.port or 1883, "topic_root": topic_root}
    clear_retained(mqtt_url, topic_root)


@pytest.fixture
def watch(mqtt_url: str, topic_root: str) -> Iterator[Callable[[], Watcher]]:
    """Start watchers on ``{topic_root}/#``; afterwards clear what the test left retained."""
    watchers: list[Watcher] = []

    def start() -> Watcher:
        watchers.append(Watcher(mqtt_url, f"{topic_root}/#"))
        return watchers[-1]

    yield start
    for w in watchers:
        w.close()
    clear_retained(mqtt_url, topic_root)
