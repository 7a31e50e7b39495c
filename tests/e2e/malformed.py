"""Hypothesis strategies of messages a gateway must reject: each is a (topic below the root, payload) pair.

Every one of them is malformed by construction (not merely likely to be), so a test may demand that each ends in
the dead-letter table. The valid topics are ``{site}/{asset}/{channel}`` of provisioned assets; a test passes
them in, with a valid sample body to put on wrong topics.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from hypothesis import strategies as st

CHANNELS = ("telemetry", "status", "faults")
# printable characters only: Mosquitto disconnects a client whose topic holds control characters or non-characters
_TOPIC_CHARS = st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="/+#")


def _is_json(payload: bytes) -> bool:
    try:
        json.loads(payload)
    except ValueError:
        return False
    return True


def _is_aware_time(value: object) -> bool:
    """Whether ``value`` could pass for a sample's ``ts`` text (ISO-8601 with a zone)."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _bad_metric_name(name: str) -> bool:
    """Not lower_snake_case of at most 63 characters."""
    return not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name)


# good names with a line break, space or NUL next to them: near misses that a loose check lets through (a pattern
# ending in $ and applied with re.match accepts "flow_m3h\n")
_NEARLY_GOOD_METRIC_NAMES = ("flow_m3h\n", "flow_m3h\r\n", "\nflow_m3h", "flow_m3h ", "flow_m3h\0")


def random_bytes(telemetry_topic: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """Bytes that are not JSON at all, on a valid telemetry topic."""
    return st.tuples(st.just(telemetry_topic), st.binary(max_size=300).filter(lambda b: not _is_json(b)))


def deeply_nested(telemetry_topic: str, ts: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """Arrays or objects nested far deeper than any sample, as the whole body or as a metric's value."""

    def build(shape: str, depth: int) -> bytes:
        if shape == "arrays":
            return b"[" * depth + b"]" * depth
        if shape == "objects":
            return b'{"a":' * depth + b"1" + b"}" * depth
        inner = b"[" * depth + b"1.0" + b"]" * depth
        return b'{"ts":"' + ts.encode() + b'","seq":1,"metrics":{"flow_m3h":' + inner + b"}}"

    bodies = st.builds(build, st.sampled_from(["arrays", "objects", "in_metrics"]), st.integers(64, 40_000))
    return st.tuples(st.just(telemetry_topic), bodies)


def huge(telemetry_topic: str, ts: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """Bodies around and above the 64 KiB that dead letters keep: an unknown field padded out, or a batch
    of more samples than one message may carry."""

    def padded(size: int) -> bytes:
        head = b'{"ts":"' + ts.encode() + b'","metrics":{"flow_m3h":1.0},"note":"'
        return head + b"x" * max(0, size - len(head) - 2) + b'"}'

    def batch(count: int) -> bytes:
        sample = {"ts": ts, "metrics": {"flow_m3h": 1.0}}
        return json.dumps([sample | {"seq": i} for i in range(count)]).encode()

    sizes = st.one_of(st.integers(64 * 1024 - 8, 64 * 1024 + 8), st.integers(64 * 1024, 256 * 1024),
                      st.integers(256 * 1024 + 1, 400 * 1024))  # just under and over 64 KiB, over the 256 KiB limit
    return st.tuples(st.just(telemetry_topic), st.one_of(sizes.map(padded), st.integers(1001, 4000).map(batch)))


def wrong_types(telemetry_topic: str, ts: str, asset_id: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """A valid sample with one field given a value of the wrong type or out of bounds (a sequence number beyond
    what a PostgreSQL bigint holds among them), or a field too many (its name holding NUL or control characters
    among them)."""
    junk = st.one_of(st.booleans(), st.none(), st.text(max_size=20), st.lists(st.integers(), max_size=3),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
    not_a_number = st.one_of(st.booleans(), st.none(), st.text(max_size=10), st.lists(st.floats(), max_size=2))
    base = {"ts": ts, "seq": 1, "metrics": {"flow_m3h": 101.5, "pressure_bar": 4.2}}
    faults = st.one_of(
        st.tuples(st.just("ts"), junk.filter(lambda v: not _is_aware_time(v))),
        st.tuples(st.just("ts"), st.sampled_from(["2026-01-01T00:00:00", "2099-01-01T00:00:00Z", 946684799999,
                                                  "1999-12-31T23:59:59Z", -5, 10**20])),
        st.tuples(st.just("seq"), st.one_of(st.integers(max_value=-1), st.integers(min_value=2**63),
                                            st.floats(allow_nan=False), st.text(max_size=5), st.booleans())),
        st.tuples(st.just("metrics"), st.one_of(st.just({}), st.lists(st.floats(allow_nan=False), max_size=3),
                                                st.text(max_size=10), st.none())),
        st.tuples(st.just("metrics"), not_a_number.map(lambda v: {"flow_m3h": v})),
        st.tuples(st.just("metrics"), st.one_of(
            st.text(min_size=1, max_size=70).filter(_bad_metric_name), st.sampled_from(_NEARLY_GOOD_METRIC_NAMES),
        ).map(lambda name: {name: 1.0})),
        st.tuples(st.just("metrics"), st.integers(65, 200).map(lambda n: {f"m{i}": 1.0 for i in range(n)})),
        st.tuples(st.just("asset_id"), st.text(max_size=10).filter(lambda a: a != asset_id)),
        st.tuples(st.one_of(st.text(min_size=1, max_size=10).filter(lambda k: k not in {*base, "asset_id"}),
                            st.sampled_from(["\0", "\0seq", "seq\n"])), st.integers()),
    )

    def corrupt(fault: tuple[str, object]) -> bytes:
        name, value = fault
        return json.dumps(base | {name: value}).encode()

    return st.tuples(st.just(telemetry_topic), faults.map(corrupt))


def wrong_topics(valid: set[str], body: bytes) -> st.SearchStrategy[tuple[str, bytes]]:
    """A valid sample body on a topic that is not ``{site}/{asset}/{channel}`` of a provisioned asset: a valid topic
    with one level changed (an unknown site, asset or channel, an empty or invalid id), a level too many or too
    few, or levels of any text. ``valid`` lists the topics (below the root) that would be accepted."""
    level = st.text(_TOPIC_CHARS, max_size=12)
    topics = st.sampled_from(sorted(valid))

    def changed(topic: str, index: int, replacement: str) -> str:
        parts = topic.split("/")
        parts[index] = replacement
        return "/".join(parts)

    wrong = st.one_of(
        st.builds(changed, topics, st.integers(0, 2), level),
        st.builds(lambda topic, extra: f"{topic}/{extra}", topics, level),
        topics.map(lambda topic: topic.rsplit("/", 1)[0]),
        st.lists(level, min_size=1, max_size=6).map("/".join),
    )
    return st.tuples(wrong.filter(lambda t: t not in valid), st.just(body))


def bad_status(status_topic: str) -> st.SearchStrategy[tuple[str, bytes]]:
    """A status that is neither ``online`` nor ``offline`` (an empty one only clears a retained status)."""
    return st.tuples(st.just(status_topic), st.binary(min_size=1, max_size=40).filter(
        lambda b: b.strip() not in (b"online", b"offline")))
