"""The dead-letter table keeps whatever a rejected message carried, on the real database: a message that cannot be
stored as it came is still kept, with its reason, rather than stopping the worker that rejected it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway import store
from gateway.errors import PayloadRejected
from gateway.payloads import parse_fault, parse_telemetry
from gateway.store import DeadLetter

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
TOPIC = "fleet/site-1/pump-001/telemetry"


async def _stored(aconn, letters: list[DeadLetter]) -> list[tuple[str, bytes, str]]:
    await store.add_dead_letters(aconn, letters)
    return [(row.topic, bytes(row.payload), row.reason)
            for row in reversed(await store.get_dead_letters(aconn, limit=len(letters)))]


@pytest.mark.asyncio
async def test_nul_or_a_lone_surrogate_in_a_topic_or_reason_is_stored_escaped_and_the_payload_as_received(aconn):
    letters = [
        DeadLetter("fleet/site-1/pump\0/telemetry", b'{"\\u0000": 1}\x00', "reason with \0 in it", NOW),
        DeadLetter("fleet/site-1/pump-\ud800/telemetry", b"\xff\xfe", "a lone \udcff surrogate", NOW),
        DeadLetter(TOPIC, b"{", "invalid JSON: a backslash \\x00 already escaped stays as it is", NOW),
    ]
    assert await _stored(aconn, letters) == [
        (r"fleet/site-1/pump\x00/telemetry", b'{"\\u0000": 1}\x00', r"reason with \x00 in it"),
        (r"fleet/site-1/pump-\ud800/telemetry", b"\xff\xfe", r"a lone \udcff surrogate"),
        (TOPIC, b"{", r"invalid JSON: a backslash \x00 already escaped stays as it is"),
    ]


NASTY_TELEMETRY = [
    b'{"ts": "2026-03-04T09:00:00Z", "seq": 9223372036854775808, "metrics": {"flow_m3h": 1.0}}',
    b'{"ts": "2026-03-04T09:00:00Z", "metrics": {"flow_m3h": 1.0}, "\\u0000": 1}',
    b'{"ts": "2026-03-04T09:00:00Z", "metrics": {"flow_m3h\\n": 1.0}}',
    b'{"ts": "2026-03-04T09:00:00Z", "metrics": {"\\u0000\\u001b[31m": "x"}, "asset_id": "\\u0000"}',
    b'[{"ts": "2026-03-04T09:00:00Z", "metrics": {"flow_m3h": 1.0}}, {"ts": "\\u0000", "\\u2028": 1}]',
    b'{"ts": "2026-03-04T09:00:00Z", "metrics": {"flow_m3h": 1.0}, "asset_id": "pump\\u0000"}',
]
NASTY_FAULTS = [
    b'{"ts": "2026-03-04T09:00:00Z", "code": "E-042\\n", "severity": "warning"}',
    b'{"ts": "2026-03-04T09:00:00Z", "code": "E-042", "severity": "warning", "message": "seal\\u0000"}',
    b'{"ts": "2026-03-04T09:00:00Z", "code": "E-042", "severity": "warning\\u0000", "\\u0000": null}',
]


def _reason(parse, payload: bytes) -> str:
    with pytest.raises(PayloadRejected) as caught:
        parse("pump-001", payload, now=NOW)
    return caught.value.reason


@pytest.mark.asyncio
async def test_reasons_for_bodies_holding_nul_or_control_characters_are_stored_as_written(aconn):
    reasons = [_reason(parse_telemetry, p) for p in NASTY_TELEMETRY] + [_reason(parse_fault, p) for p in NASTY_FAULTS]
    letters = [DeadLetter(TOPIC, payload, reason, NOW)
               for payload, reason in zip(NASTY_TELEMETRY + NASTY_FAULTS, reasons, strict=True)]
    stored = await _stored(aconn, letters)
    assert [reason for _, _, reason in stored] == reasons, "a reason needed escaping on its way in"
    assert [payload for _, payload, _ in stored] == NASTY_TELEMETRY + NASTY_FAULTS
