"""paho's MQTT v5 property tables, shared instead of rebuilt per packet, still pack and unpack the same bytes."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt._packet import decode_publish
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from gateway.mqtt import RECEIVE_MAXIMUM, SESSION_EXPIRY_S, _decode_publish, share_property_tables


def _connect_properties() -> bytes:
    p = Properties(PacketTypes.CONNECT)
    p.SessionExpiryInterval = SESSION_EXPIRY_S
    p.ReceiveMaximum = RECEIVE_MAXIMUM
    p.UserProperty = ("site", "rtm-01")
    return p.pack()


def test_shared_tables_pack_and_unpack_the_same_bytes():
    before = _connect_properties()
    share_property_tables()
    share_property_tables()  # idempotent
    assert _connect_properties() == before
    back = Properties(PacketTypes.CONNECT)
    back.unpack(before)
    assert (back.SessionExpiryInterval, back.ReceiveMaximum, back.UserProperty) == (
        SESSION_EXPIRY_S, RECEIVE_MAXIMUM, [("site", "rtm-01")])
    a, b = Properties(PacketTypes.PUBLISH), Properties(PacketTypes.PUBLISH)
    a.ContentType = "application/json"
    assert not hasattr(b, "ContentType")  # values stay per instance; only the tables are shared
    with pytest.raises(MQTTException):
        Properties(PacketTypes.PUBLISH).ReceiveMaximum = 5  # still checked against the packet type


@settings(max_examples=300, deadline=None)
@given(
    topic=st.text(min_size=1, max_size=80).filter(lambda t: "\x00" not in t),
    payload=st.binary(max_size=2000),
    qos=st.sampled_from([0, 1]),
    mid=st.integers(min_value=1, max_value=65535),
    retain=st.booleans(),
    properties=st.sampled_from([None, "expiry", "user"]),
)
def test_the_lean_publish_decoder_reads_what_paho_reads(topic, payload, qos, mid, retain, properties):
    """The gateway's PUBLISH decoder against paho's own, on packets paho itself encodes (MQTT v5, properties or not)."""
    props = None
    if properties:
        props = Properties(PacketTypes.PUBLISH)
        if properties == "expiry":
            props.MessageExpiryInterval = 3600
        else:
            props.UserProperty = ("site", "harbour-3")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sent = []
    client._sock = object()  # "connected": paho encodes only then, handing the bytes to _packet_queue
    client._packet_queue = lambda command, packet, mid, qos, info=None: sent.append((command, bytes(packet)))  # noqa: ARG005
    try:
        client._send_publish(mid if qos else 0, topic.encode(), payload, qos, retain, False, properties=props)
    finally:
        client._sock = None
    packet = sent[0][1]
    command = packet[0]  # the fixed header: type, dup, QoS and retain bits
    length_bytes = 1
    while packet[length_bytes] & 0x80:
        length_bytes += 1
    body = packet[1 + length_bytes:]
    expected = decode_publish(command, body, mqtt.MQTTv5)
    got = _decode_publish(command, body, mqtt5=True)
    assert (got.topic, got.payload, got.qos, got.retain) == (expected.topic.decode(), expected.payload, qos, retain)
    assert got.mid == (expected.mid if qos else 0)


def test_a_publish_whose_lengths_do_not_add_up_is_left_to_paho():
    assert _decode_publish(0x32, b"\x00\x10fleet/a", mqtt5=True) is None  # the topic runs past the end
    assert _decode_publish(0x32, b"\x00\x01a\x00\x07\x05", mqtt5=True) is None  # properties run past the end
    assert _decode_publish(0x32, b"\x00\x01a\x00\x00\x00", mqtt5=True) is None  # QoS 1 with packet id 0
    assert _decode_publish(0x32, b"\x00\x01a\x00\x07\x00{}", mqtt5=True).payload == b"{}"
