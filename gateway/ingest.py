"""Triage of a batch of deliveries: pure, no I/O.

Every delivery ends in exactly one place: accepted samples, a status change,
a device fault, or a dead letter with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gateway.errors import PayloadRejected
from gateway.mqtt import Delivery
from gateway.payloads import Limits, parse_fault, parse_telemetry
from gateway.store import DeadLetter
from gateway.topics import Channel, TopicScheme
from telemetry.readings import DeviceFault, Sample

STATUSES = {b"online": "online", b"offline": "offline"}


@dataclass(frozen=True, slots=True)
class StatusChange:
    asset_id: str
    connection: str
    at: datetime


@dataclass(slots=True)
class Triage:
    samples: list[Sample] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)
    faults: list[DeviceFault] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def seen(self) -> dict[str, tuple[datetime, int | None]]:
        """Newest timestamp and its sequence number per asset that sent data."""
        newest: dict[str, tuple[datetime, int | None]] = {}
        for s in self.samples:
            if s.asset_id not in newest or s.ts >= newest[s.asset_id][0]:
                newest[s.asset_id] = (s.ts, s.seq)
        return newest


def triage(
    deliveries: Sequence[Delivery],
    *,
    scheme: TopicScheme,
    site_of: Callable[[str], str | None],
    now: datetime,
    limits: Limits = Limits(),
) -> Triage:
    """Sort a batch into samples, status changes, device faults and dead letters."""
    out = Triage()
    for d in deliveries:
        try:
            topic = scheme.parse(d.topic)
            site = site_of(topic.asset_id)
            if site is None:
                raise PayloadRejected(f"asset {topic.asset_id!r} is unknown or not provisioned")
            if site != topic.site:
                raise PayloadRejected(f"asset {topic.asset_id!r} belongs to site {site!r}, not {topic.site!r}")
            if topic.channel is Channel.TELEMETRY:
                out.samples.extend(parse_telemetry(topic.asset_id, d.payload, now=now, limits=limits))
            elif topic.channel is Channel.STATUS:
                if not d.payload:
                    continue  # a retained status being cleared carries no news
                if d.payload.strip() not in STATUSES:
                    raise PayloadRejected(f"status must be 'online' or 'offline', got {d.payload[:40]!r}")
                out.statuses.append(StatusChange(topic.asset_id, STATUSES[d.payload.strip()], now))
            elif topic.channel is Channel.FAULTS:
                out.faults.append(parse_fault(topic.asset_id, d.payload, now=now, limits=limits))
            else:
                raise PayloadRejected(f"channel {topic.channel.value!r} is not processed by the gateway")
        except PayloadRejected as exc:
            out.dead_letters.append(DeadLetter(d.topic, d.payload, exc.reason, now))
    return out
