"""Telemetry bodies checked at the edge: whatever a device sends is turned into samples the database can store, or
rejected with a reason the dead-letter table can store."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.errors import PayloadRejected
from gateway.ingest import triage
from gateway.mqtt import Delivery
from gateway.payloads import SEQ_MAX, parse_telemetry
from gateway.topics import TopicScheme

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
TS = "2026-03-04T09:00:00Z"


def _body(**fields: object) -> bytes:
    return json.dumps({"ts": TS, "metrics": {"flow_m3h": 1.0}} | fields).encode()


def _rejection(body: bytes) -> str:
    with pytest.raises(PayloadRejected) as caught:
        parse_telemetry("pump-001", body, now=NOW)
    return caught.value.reason


def _storable(reason: str) -> bool:
    """One non-empty printable line: no NUL (which PostgreSQL text cannot hold), no lone surrogate (which UTF-8
    cannot encode), no control character."""
    return bool(reason.strip()) and reason.isprintable()


# --- the defects the fault tests found ---------------------------------------------------------------------------


def test_a_sequence_number_is_bounded_by_a_bigint():
    (sample,) = parse_telemetry("pump-001", _body(seq=SEQ_MAX), now=NOW)
    assert sample.seq == SEQ_MAX == 2**63 - 1
    for seq in (SEQ_MAX + 1, 2**64, 10**40):
        assert _rejection(_body(seq=seq)) == f"seq: Input should be less than or equal to {SEQ_MAX}"


@pytest.mark.parametrize("name", ["flow_m3h\n", "flow_m3h\n\n", "\nflow_m3h", "flow_m3h\r", "flow_m3h "])
def test_a_metric_name_with_a_line_break_or_space_around_it_is_rejected(name):
    reason = _rejection(_body(metrics={name: 1.0}))
    assert f"metric name {name!r} must be lower_snake_case" in reason and _storable(reason)


def test_a_field_name_holding_nul_is_quoted_with_nul_escaped():
    assert _rejection(b'{"ts": "%s", "metrics": {"flow_m3h": 1.0}, "\\u0000": 1}' % TS.encode()) == (
        r"'\x00': Extra inputs are not permitted")
    reason = _rejection(b'{"ts": "%s", "metrics": {"flow\\u0000": "x"}}' % TS.encode())
    assert reason.startswith(r"metrics.'flow\x00': Input should be a valid number") and _storable(reason)


@pytest.mark.parametrize(("key", "shown"), [
    ("", "''"), ("a.b", "'a.b'"), (" note", "' note'"), ("line\nbreak", r"'line\nbreak'"), ("note", "note"),
])
def test_a_field_name_that_is_not_a_plain_name_is_quoted(key, shown):
    assert _rejection(_body(**{key: 1})) == f"{shown}: Extra inputs are not permitted"


def test_an_asset_id_holding_nul_is_named_escaped():
    reason = _rejection(_body(asset_id="pump-001\0"))
    assert reason == r"body names asset 'pump-001\x00' but the topic names 'pump-001'"


# --- any body ----------------------------------------------------------------------------------------------------

# text JSON can carry, control characters and NUL included (json.dumps writes them as \u escapes), and names that
# are nearly valid metric names
_TEXT = st.text(max_size=12) | st.sampled_from(
    ["flow_m3h", "pressure_bar", "flow_m3h\n", "flow_m3h\r\n", "\0", "flow\0m3h", "", " ", "a.b", "\u2028", "seq"])
_NUMBERS = st.integers() | st.floats() | st.sampled_from([0, -1, SEQ_MAX, SEQ_MAX + 1, 2**64, 1.5, 1e308])
_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBERS | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_GOOD_SAMPLE = st.fixed_dictionaries(
    {"ts": st.sampled_from([TS, 1772614800000]),
     "metrics": st.dictionaries(st.sampled_from(["flow_m3h", "pressure_bar"]), st.floats(-1e6, 1e6), min_size=1)},
    optional={"seq": st.integers(0, SEQ_MAX), "asset_id": st.just("pump-001")},
)
# a good sample with none, one or two of its fields changed or added, so that a good share of bodies are accepted
_SAMPLE = st.builds(
    lambda sample, changes: sample | changes,
    _GOOD_SAMPLE,
    st.dictionaries(
        st.sampled_from(["ts", "metrics", "seq", "asset_id"]) | _TEXT,
        _JSON | st.dictionaries(st.sampled_from(["flow_m3h"]) | _TEXT, _NUMBERS | _JSON, max_size=3),
        max_size=2,
    ),
)
_BODIES = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda value, ascii_only: json.dumps(value, ensure_ascii=ascii_only).encode(),
              _JSON | _SAMPLE | st.lists(_SAMPLE, max_size=3), st.booleans()),
)

@settings(max_examples=500, deadline=None)
@given(_BODIES)
@example(b'{"ts": "2026-03-04T09:00:00Z", "seq": 9223372036854775808, "metrics": {"flow_m3h": 1.0}}')
@example(b'{"ts": "2026-03-04T09:00:00Z", "metrics": {"flow_m3h": 1.0}, "\\u0000": 1}')
@example(b'{"ts": "2026-03-04T09:00:00Z", "metrics": {"flow_m3h\\n": 1.0}}')
@example(b'{"ts": "2026-03-04T09:00:00Z", "metrics": {"flow_m3h": 1.0}, "\\ud800": 1}')
def test_any_body_is_samples_the_database_can_store_or_rejected_with_a_storable_reason(body):
    try:
        samples = parse_telemetry("pump-001", body, now=NOW)
    except PayloadRejected as exc:
        assert _storable(exc.reason), exc.reason
    else:
        assert samples
        for sample in samples:
            assert sample.asset_id == "pump-001" and sample.ts.tzinfo is not None
            assert sample.seq is None or 0 <= sample.seq <= SEQ_MAX
            assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name) for name in sample.metrics)
            assert all(math.isfinite(value) for value in sample.metrics.values())


_TOPICS = st.one_of(
    st.text(max_size=40),
    st.builds(lambda site, asset, channel: f"fleet/{site}/{asset}/{channel}",
              st.sampled_from(["site-1", "site-2", "site-1\n", "site-1\0"]) | st.text(max_size=8),
              st.sampled_from(["pump-001", "pump-001\n", "pump\0"]) | st.text(max_size=8),
              st.sampled_from(["telemetry", "status", "faults", "telemetry\n"]) | st.text(max_size=8)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TOPICS, _BODIES | st.sampled_from([b"online", b"offline", b"", b"\0"])), max_size=5))
def test_every_delivery_ends_in_one_place_and_every_dead_letter_reason_is_storable(messages):
    for i, (topic, payload) in enumerate(messages):
        out = triage([Delivery(topic, payload, mid=i, qos=1, retain=False)], scheme=TopicScheme(),
                     site_of={"pump-001": "site-1"}.get, now=NOW)
        places = [bool(out.samples), bool(out.statuses), bool(out.faults), bool(out.dead_letters)]
        cleared = topic == "fleet/site-1/pump-001/status" and not payload  # a retained status cleared: no news
        assert sum(places) == (0 if cleared else 1) and len(out.dead_letters) <= 1
        for letter in out.dead_letters:
            assert _storable(letter.reason), letter.reason
