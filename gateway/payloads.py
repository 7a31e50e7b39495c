"""What a telemetry message must look like, checked with pydantic at the edge.

A telemetry body is one sample or a JSON array of samples::

    {"ts": "2026-11-22T08:00:00Z", "seq": 42, "metrics": {"vibration_rms_mm_s": 2.1}}
    [{"ts": 1795334400000, "seq": 42, "metrics": {...}}, {"ts": ..., "seq": 43, "metrics": {...}}]

``ts`` is ISO-8601 with a zone or epoch milliseconds; ``seq`` is the device's
message counter; ``metrics`` maps a metric name to a finite number.  A body may
name its ``asset_id``; it must then be the topic's.

A fault body is one fault code the device reports about itself::

    {"ts": "2026-11-22T08:00:00Z", "code": "E-042", "severity": "warning", "message": "seal pressure low"}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from gateway.errors import PayloadRejected
from telemetry.readings import DeviceFault, Sample

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_SAMPLES = 1000
MAX_METRICS = 64
MAX_FAULT_BYTES = 8 * 1024
# matched with fullmatch: with re.match, ``$`` also matches before a final newline, and "flow_m3h\n" would pass
_METRIC = re.compile(r"[a-z][a-z0-9_]{0,62}")
SEQ_MAX = 2**63 - 1  # sequence numbers are stored in a PostgreSQL bigint
_EPOCH_MIN = datetime(2000, 1, 1, tzinfo=UTC)

Number = Annotated[StrictFloat, Field(allow_inf_nan=False)]


def _timestamp(value: object) -> datetime:
    if isinstance(value, bool):
        raise ValueError("ts must be ISO-8601 text or epoch milliseconds, not a boolean")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            # not a ValueError on every platform: left alone it would escape validation and stop the worker
            raise ValueError(f"ts {value!r} is out of range for epoch milliseconds") from None
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("ts must carry a time zone (e.g. 'Z' or '+01:00')")
        return parsed.astimezone(UTC)
    raise ValueError("ts must be ISO-8601 text or epoch milliseconds")


class SampleIn(BaseModel):
    """One element of a telemetry body."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    ts: datetime
    seq: StrictInt | None = Field(default=None, ge=0, le=SEQ_MAX)
    metrics: dict[str, Number] = Field(min_length=1, max_length=MAX_METRICS)
    asset_id: str | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _parse_ts(cls, value: object) -> datetime:
        return _timestamp(value)

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if not _METRIC.fullmatch(name):
                raise ValueError(f"metric name {name!r} must be lower_snake_case, at most 63 characters")
        return value


_ONE = TypeAdapter(SampleIn)
_MANY = TypeAdapter(list[SampleIn])


@dataclass(frozen=True, slots=True)
class Limits:
    """How far from the gateway's clock a timestamp may be."""

    max_future: timedelta = timedelta(minutes=5)


def parse_telemetry(asset_id: str, payload: bytes, *, now: datetime, limits: Limits = Limits()) -> list[Sample]:
    """Turn a telemetry body into samples, or raise :class:`PayloadRejected` saying why."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        samples = _MANY.validate_json(payload) if payload.lstrip()[:1] == b"[" else [_ONE.validate_json(payload)]
    except ValidationError as exc:
        raise PayloadRejected(_describe(exc)) from None
    if not samples:
        raise PayloadRejected("empty batch: the array holds no sample")
    if len(samples) > MAX_SAMPLES:
        raise PayloadRejected(f"batch of {len(samples)} samples exceeds {MAX_SAMPLES}")
    latest = now + limits.max_future
    out = []
    for index, sample in enumerate(samples):
        where = f"sample {index}: " if len(samples) > 1 else ""
        if sample.asset_id is not None and sample.asset_id != asset_id:
            raise PayloadRejected(f"{where}body names asset {sample.asset_id!r} but the topic names {asset_id!r}")
        if sample.ts > latest:
            raise PayloadRejected(f"{where}ts {sample.ts.isoformat()} is more than {limits.max_future} in the future")
        if sample.ts < _EPOCH_MIN:
            raise PayloadRejected(f"{where}ts {sample.ts.isoformat()} is before {_EPOCH_MIN.date()}")
        out.append(Sample(asset_id, sample.ts, {k: float(v) for k, v in sample.metrics.items()}, sample.seq))
    return out


class FaultIn(BaseModel):
    """A fault body."""

    model_config = ConfigDict(extra="forbid")

    ts: datetime
    # pydantic applies a pattern with Rust regex semantics, where ``$`` is the end of the text only: "E-042\n" is
    # refused (a test holds it to that), as it is by the table's check of the same pattern
    code: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{1,32}$")
    severity: Literal["info", "warning", "critical"]
    message: str | None = Field(default=None, max_length=2000)
    asset_id: str | None = None

    @field_validator("ts", mode="before")
    @classmethod
    def _parse_ts(cls, value: object) -> datetime:
        return _timestamp(value)

    @field_validator("message")
    @classmethod
    def _storable_message(cls, value: str | None) -> str | None:
        if value is not None and "\0" in value:
            raise ValueError("a NUL character cannot be stored")
        return value


_FAULT = TypeAdapter(FaultIn)


def parse_fault(asset_id: str, payload: bytes, *, now: datetime, limits: Limits = Limits()) -> DeviceFault:
    """Turn a fault body into a fault, or raise :class:`PayloadRejected` saying why."""
    if len(payload) > MAX_FAULT_BYTES:
        raise PayloadRejected(f"fault payload of {len(payload)} bytes exceeds {MAX_FAULT_BYTES}")
    try:
        fault = _FAULT.validate_json(payload)
    except ValidationError as exc:
        raise PayloadRejected(_describe(exc)) from None
    if fault.asset_id is not None and fault.asset_id != asset_id:
        raise PayloadRejected(f"body names asset {fault.asset_id!r} but the topic names {asset_id!r}")
    if fault.ts > now + limits.max_future:
        raise PayloadRejected(f"ts {fault.ts.isoformat()} is more than {limits.max_future} in the future")
    if fault.ts < _EPOCH_MIN:
        raise PayloadRejected(f"ts {fault.ts.isoformat()} is before {_EPOCH_MIN.date()}")
    return DeviceFault(asset_id, fault.ts, fault.code, fault.severity, fault.message)


def _describe(exc: ValidationError) -> str:
    """A short reason naming where each problem is, e.g. ``metrics.temp: Input should be a finite number``.

    The field names come from the device: one that is not a plain printable name is quoted as Python would quote
    it (``'\\x00': Extra inputs are not permitted``), so that a reason is one printable line PostgreSQL text can hold.
    """
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        loc = ".".join(_field(p) for p in error["loc"])
        if error["type"] == "json_invalid":
            parts.append(f"invalid JSON: {error['msg']}")
        else:
            parts.append(f"{loc or 'body'}: {error['msg']}")
    return _printable("; ".join(dict.fromkeys(parts)))


def _field(part: str | int) -> str:
    """A step of an error's location: an index or a plain name as it is, any other name quoted."""
    if isinstance(part, int) or (part and part.isprintable() and part.strip() == part and "." not in part):
        return str(part)
    return repr(part)


def _printable(text: str) -> str:
    """``text`` with each character that is not printable (NUL, a newline, any control character) written as the
    escape Python would write it, e.g. ``\\x00``."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
