"""The gateway's MQTT edge: broker address, session options and acknowledgement after commit.

paho's types stay in this module; the rest of the gateway sees :class:`Delivery`.
"""

from __future__ import annotations

import asyncio
import collections
import functools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY_S = 7 * 24 * 3600
RECEIVE_MAXIMUM = 10_000
READ_SIZE = 64 * 1024  # bytes taken from the socket at a time
PACKETS_PER_TURN = 64  # packets decoded before the event loop gets a turn


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
    attributes = tuple(name.replace(" ", "") for name in template.names)

    def __init__(self: Properties, packetType: int) -> None:  # noqa: N803 - paho's parameter name
        object.__setattr__(self, "packetType", packetType)
        for name, table in shared.items():
            object.__setattr__(self, name, table)

    def clear(self: Properties) -> None:
        # paho's clear() builds each property's attribute name and asks hasattr() for it, before every unpack
        present = self.__dict__
        for name in attributes:
            if name in present:
                delattr(self, name)

    Properties.__init__ = __init__
    Properties.clear = clear
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
    _read_in_bulk(client)
    return client


class Inbox:
    """The session's received messages as :class:`Delivery`, taken a batch at a time.

    aiomqtt hands messages over one by one through an async iterator, with a task and an ``asyncio.wait`` for each
    and a conversion to its own message type; at 5,000 messages/s that was a tenth of the gateway's CPU (py-spy).
    The inbox takes paho's messages straight from its callback instead. It needs no bound of its own: the broker
    sends at most the session's Receive Maximum of unacknowledged messages, and they are acknowledged only once
    committed. Install it before connecting, so that no message of a persistent session goes past it.
    """

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._messages: collections.deque[Delivery] = collections.deque()
        self._arrived = asyncio.Event()
        inner = client._client  # noqa: SLF001
        inner.on_message = self._on_message  # QoS 2, which takes paho's own path
        # paho matches every message against the per-topic callbacks (``message_callback_add``) before calling
        # on_message, walking its topic tree each time: 8 % of the gateway's CPU (py-spy), for callbacks the gateway
        # never adds
        inner._on_message_filtered = _NO_TOPIC_CALLBACKS  # noqa: SLF001
        inner._handle_publish = functools.partial(self._handle_publish, inner, inner._handle_publish)  # noqa: SLF001

    def __len__(self) -> int:
        return len(self._messages)

    async def wait(self) -> None:
        """Until a message is in; :class:`aiomqtt.MqttError` if the connection is lost first."""
        disconnected = self._client._disconnected  # noqa: SLF001
        while not self._messages:
            if disconnected.done():
                raise aiomqtt.MqttError("disconnected while waiting for messages") from disconnected.exception()
            self._arrived.clear()
            arrived = asyncio.ensure_future(self._arrived.wait())
            try:
                await asyncio.wait({arrived, disconnected}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                arrived.cancel()

    def take(self, limit: int) -> list[Delivery]:
        """Up to ``limit`` messages, oldest first."""
        messages = self._messages
        return [messages.popleft() for _ in range(min(limit, len(messages)))]

    def _handle_publish(self, inner: paho.Client, papers: Callable[[], paho.MQTTErrorCode]) -> paho.MQTTErrorCode:
        """A PUBLISH at QoS 0 or 1, straight to a Delivery. paho builds a message object with a thread condition,
        decodes the MQTT v5 properties, logs and dispatches for each; the gateway reads none of the properties
        (it sets no Topic Alias Maximum, so the broker sends none) and acknowledges itself, after commit. That
        was a fifth of its CPU (py-spy). QoS 2 goes through paho (``papers``), as does anything that does not add
        up, which paho then rejects as malformed."""
        header = inner._in_packet["command"]  # noqa: SLF001
        qos = (header & 0x06) >> 1
        delivery = _decode_publish(header, inner._in_packet["packet"], mqtt5=inner._protocol == paho.MQTTv5)  # noqa: SLF001
        if qos > 1 or delivery is None:
            return papers()
        self._messages.append(delivery)
        self._arrived.set()
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        payload = message.payload
        self._messages.append(Delivery(
            message._topic.decode("utf-8", "replace"),  # noqa: SLF001 - the broker checked it is UTF-8
            payload if type(payload) is bytes else bytes(payload), message.mid, message.qos, message.retain,
        ))
        self._arrived.set()


def _decode_publish(header: int, packet: bytes, *, mqtt5: bool) -> Delivery | None:
    """The Delivery a PUBLISH packet (after its fixed header) carries; None if its lengths do not add up."""
    qos = (header & 0x06) >> 1
    if len(packet) < 2:
        return None
    at = 2 + int.from_bytes(packet[:2], "big")
    topic = packet[2:at]
    mid = 0
    if qos:
        mid = int.from_bytes(packet[at:at + 2], "big")
        at += 2
    if mqtt5:  # the properties: a variable byte integer length, then as many bytes, skipped
        length = shift = 0
        while True:
            if at >= len(packet) or shift > 21:
                return None
            byte = packet[at]
            at += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        at += length
    if at > len(packet) or not topic or (qos and not mid):
        return None
    return Delivery(topic.decode("utf-8", "replace"), bytes(packet[at:]), mid, qos, bool(header & 0x01))


class _NoTopicCallbacks:
    """paho's topic matcher when no per-topic callback is registered: nothing ever matches."""

    def iter_match(self, topic: str) -> tuple[()]:
        return ()

    def __setitem__(self, key: str, value: object) -> None:
        raise NotImplementedError("the gateway's MQTT client takes no per-topic callbacks")


_NO_TOPIC_CALLBACKS = _NoTopicCallbacks()


def _read_in_bulk(client: aiomqtt.Client) -> None:
    """Make paho read the socket 64 KiB at a time and decode every packet that came in, not one per wake-up.

    paho reads a packet in three or four ``recv`` calls (its type, each byte of its length, the rest), and decodes
    one packet each time the socket is readable, so every message cost the event loop a turn and a ``select``; at
    5,000 messages/s that was a sixth of the gateway's CPU (py-spy). Here ``recv`` is served from one large read,
    and a wake-up decodes up to ``PACKETS_PER_TURN`` packets, then lets the event loop run and carries on.
    """
    inner = client._client  # noqa: SLF001
    receive = inner._sock_recv  # noqa: SLF001 - paho's, with its SSL handling
    held = {"sock": None, "data": b"", "at": 0}

    def sock_recv(size: int) -> bytes:
        data, at = held["data"], held["at"]
        if at >= len(data) or held["sock"] is not inner._sock:  # noqa: SLF001
            data, at = receive(READ_SIZE), 0
            held["sock"] = inner._sock  # noqa: SLF001
        chunk = data[at:at + size]
        held["data"], held["at"] = data, at + len(chunk)
        return chunk

    def loop_read(max_packets: int = 1) -> paho.MQTTErrorCode:
        for _ in range(PACKETS_PER_TURN):
            if inner._sock is None:  # noqa: SLF001
                return paho.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = inner._packet_read()  # noqa: SLF001
            if rc > 0:
                return inner._loop_rc_handle(rc)  # noqa: SLF001
            if rc == paho.MQTTErrorCode.MQTT_ERR_AGAIN:
                return paho.MQTTErrorCode.MQTT_ERR_SUCCESS
        # more may be held here that the socket will not announce again: carry on after the loop's next turn
        asyncio.get_running_loop().call_soon(carry_on)
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS

    def carry_on() -> None:
        try:
            inner.loop_read()
        except Exception as exc:  # as aiomqtt's own reader does: a broken connection ends the session
            if not client._disconnected.done():  # noqa: SLF001
                client._disconnected.set_exception(exc)  # noqa: SLF001

    inner._sock_recv = sock_recv  # noqa: SLF001
    inner.loop_read = loop_read


def acknowledge(client: aiomqtt.Client, deliveries: list[Delivery]) -> None:
    """Acknowledge messages whose effects are committed; the broker may then forget them."""
    for delivery in deliveries:
        if delivery.qos > 0:
            client._client.ack(delivery.mid, delivery.qos)  # noqa: SLF001


