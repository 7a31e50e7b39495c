"""The topic scheme: a topic names a site, an asset and a channel, each checked, or is rejected saying why."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import TopicRejected
from gateway.topics import Channel, DeviceTopic, TopicScheme

_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def test_a_device_topic_is_parsed_and_built_back():
    scheme = TopicScheme()
    topic = scheme.parse("fleet/site-1/pump-001/telemetry")
    assert topic == DeviceTopic("site-1", "pump-001", Channel.TELEMETRY)
    assert scheme.topic(topic.site, topic.asset_id, topic.channel) == "fleet/site-1/pump-001/telemetry"


@pytest.mark.parametrize("topic", [
    "fleet/site-1/pump-001\n/telemetry", "fleet/site-1\n/pump-001/telemetry", "fleet/site-1/\npump-001/telemetry",
    "fleet/site-1/pump-001\0/telemetry", "fleet/site-1/pump-001 /telemetry",
])
def test_an_id_with_a_line_break_nul_or_space_in_it_is_rejected(topic):
    with pytest.raises(TopicRejected) as caught:
        TopicScheme().parse(topic)
    assert caught.value.reason.startswith("invalid ") and caught.value.reason.isprintable()


def test_a_topic_is_not_built_for_an_id_ending_in_a_newline():
    with pytest.raises(TopicRejected, match=r"invalid asset id 'pump-001\\n'"):
        TopicScheme().topic("site-1", "pump-001\n", Channel.STATUS)


_LEVEL = st.sampled_from(["site-1", "pump-001", "pump-001\n", "a.b", ""]) | st.text(max_size=8)


@given(st.text(max_size=40) | st.builds("fleet/{}/{}/{}".format, _LEVEL, _LEVEL,
                                        st.sampled_from([*Channel, "telemetry\n", "faults\0"]) | _LEVEL))
def test_any_topic_names_valid_ids_or_is_rejected_with_a_printable_reason(topic):
    try:
        parsed = TopicScheme().parse(topic)
    except TopicRejected as exc:
        assert exc.reason.isprintable(), exc.reason  # no NUL, one line: the dead-letter table can keep it
    else:
        assert _ID.fullmatch(parsed.site) and _ID.fullmatch(parsed.asset_id)
        assert topic == f"fleet/{parsed.site}/{parsed.asset_id}/{parsed.channel.value}"
