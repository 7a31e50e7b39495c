"""paho's MQTT v5 property tables, shared instead of rebuilt per packet, still pack and unpack the same bytes."""

from __future__ import annotations

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from gateway.mqtt import RECEIVE_MAXIMUM, SESSION_EXPIRY_S, share_property_tables


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
