"""The gateway's MQTT edge: broker address, session options and acknowledgement after commit.

paho's types stay in this module; the rest of the gateway sees :class:`Delivery`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 10_000


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, parsed from ``mqtt://[user[:password]@]host[:port]``."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"unsupported MQTT URL scheme {parts.scheme!r} in {url!r} (use mqtt://host:port)")
        if not parts.hostname:
            raise ValueError(f"MQTT URL {url!r} names no host")
        return cls(
            host=parts.hostname,
            port=parts.port or 1883,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received message, with what is needed to acknowledge it later."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool


def share_property_tables() -> None:
    """Make paho build its MQTT v5 property tables once instead of for every packet.

    paho's ``Properties.__init__`` rebuilds three lookup tables (names, types, which property goes with which
    packet) for each PUBLISH it decodes: a third of the gateway's CPU at 5,000 messages/s (measured with py-spy).
    The tables are constants, only ever read, so every instance can share one copy. Idempotent.
    """
    if getattr(Properties, "_tables_shared", False):
        return
    template = Properties(PacketTypes.PUBLISH)
    shared = {"types": template.types, "names": template.names, "properties": template.properties}

    def __init__(self: Properties, packetType: int) -> None:  # noqa: N803 - paho's parameter name
        object.__setattr__(self, "packetType", packetType)
        for name, table in shared.items():
            object.__setattr__(self, name, table)

    Properties.__init__ = __init__
    Properties._tables_shared = True


def persistent_client(address: BrokerAddress, *, client_id: str, mqtt5: bool) -> aiomqtt.Client:
    """A client whose session (subscriptions, unacknowledged messages) survives disconnects and restarts."""
    if mqtt5:
        share_property_tables()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        properties.ReceiveMaximum = RECEIVE_MAXIMUM
        session = {"protocol": aiomqtt.ProtocolVersion.V5, "clean_start": False, "properties": properties}
    else:
        session = {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": False}
    client = aiomqtt.Client(
        address.host, address.port, username=address.username, password=address.password, identifier=client_id,
        **session,
    )
    # aiomqtt has no API for application-controlled acknowledgements yet
    # (empicano/aiomqtt#345); paho has. Without it a message is acknowledged on
    # receipt and lost if the gateway dies before the rows are committed.
    client._client.manual_ack_set(True)  # noqa: SLF001
    return client


def acknowledge(client: aiomqtt.Client, deliveries: list[Delivery]) -> None:
    """Acknowledge messages whose effects are committed; the broker may then forget them."""
    for delivery in deliveries:
        if delivery.qos > 0:
            client._client.ack(delivery.mid, delivery.qos)  # noqa: SLF001


def delivery(message: aiomqtt.Message) -> Delivery:
    """Convert aiomqtt's message at the edge."""
    payload = message.payload
    if isinstance(payload, str):
        payload = payload.encode()
    elif payload is None:
        payload = b""
    elif not isinstance(payload, bytes | bytearray):
        payload = str(payload).encode()
    return Delivery(message.topic.value, bytes(payload), message.mid, message.qos, message.retain)
