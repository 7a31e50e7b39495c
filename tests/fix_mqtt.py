"""MQTT fixtures: the real broker (``FLEETCARE_TEST_MQTT_URL``, default Mosquitto on 127.0.0.1:1883).

Each test gets its own topic root so retained messages of one test never reach another.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

DEFAULT_URL = "mqtt://127.0.0.1:1883"


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    url = os.environ.get("FLEETCARE_TEST_MQTT_URL", DEFAULT_URL)
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883), timeout=5):
            pass
    except OSError as exc:
        pytest.exit(f"MQTT broker is not reachable at {url}: {exc}. Run ./scripts/test, which starts it.", returncode=3)
    return url


@pytest.fixture
def topic_root() -> str:
    """A topic root of this test's own, e.g. ``t3f9a1c2/fleet``."""
    return f"t{uuid.uuid4().hex[:8]}/fleet"


@pytest.fixture(scope="session")
def mqtt5() -> bool:
    """Whether the test broker speaks MQTT v5 (the amqtt fallback speaks 3.1.1 only)."""
    return os.environ.get("FLEETCARE_TEST_MQTT5", "1") != "0"


@pytest.fixture(scope="session")
def keeps_offline_sessions() -> bool:
    """Whether the test broker queues QoS 1 messages for a disconnected persistent session.

    Mosquitto and EMQX do; amqtt 0.12 (the fallback when neither can be had) does not.
    """
    return os.environ.get("FLEETCARE_TEST_MQTT_BROKER", "mosquitto") != "amqtt"
