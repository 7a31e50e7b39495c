"""The topic scheme devices publish on.

``fleet/{site}/{asset_id}/telemetry``  JSON readings (one sample or a batch array)
``fleet/{site}/{asset_id}/status``     retained ``online`` / ``offline`` (the device's Last Will)
``fleet/{site}/{asset_id}/faults``     fault codes the device reports itself

Site and asset ids are 1-64 characters of letters, digits, ``_``, ``-`` and ``.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from gateway.errors import TopicRejected

ROOT = "fleet"
# matched with fullmatch: with re.match, ``$`` also matches before a final newline, and "pump-001\n" would pass
_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class Channel(StrEnum):
    TELEMETRY = "telemetry"
    STATUS = "status"
    FAULTS = "faults"


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """Which device a message is about and on which channel; building one checks the ids."""

    site: str
    asset_id: str
    channel: Channel

    def __post_init__(self) -> None:
        for label, value in (("site", self.site), ("asset id", self.asset_id)):
            if not _ID.fullmatch(value):
                raise TopicRejected(f"invalid {label} {value!r} in topic")


@dataclass(frozen=True, slots=True)
class TopicScheme:
    """``{root}/{site}/{asset_id}/{channel}``; ``root`` lets several fleets share one broker."""

    root: str = ROOT

    def __post_init__(self) -> None:
        if not self.root or any(c in self.root for c in "+#") or self.root.startswith("$"):
            raise ValueError(f"invalid topic root {self.root!r}")

    def topic(self, site: str, asset_id: str, channel: Channel) -> str:
        """The topic a device publishes ``channel`` on."""
        DeviceTopic(site, asset_id, channel)
        return f"{self.root}/{site}/{asset_id}/{channel.value}"

    def parse(self, topic: str) -> DeviceTopic:
        """Parse a device topic or raise :class:`TopicRejected`."""
        prefix = self.root + "/"
        parts = topic[len(prefix):].split("/") if topic.startswith(prefix) else []
        if len(parts) != 3:
            raise TopicRejected(f"topic {topic!r} does not match {self.root}/{{site}}/{{asset_id}}/{{channel}}")
        try:
            channel = Channel(parts[2])
        except ValueError:
            raise TopicRejected(f"unknown channel {parts[2]!r} in topic {topic!r}") from None
        return DeviceTopic(parts[0], parts[1], channel)

    def subscription(self, group: str | None = None) -> str:
        """The filter a gateway worker subscribes to; with ``group``, an MQTT v5 shared subscription."""
        # '#' rather than '+/+/+': a malformed topic under the root must reach the dead-letter table too
        base = f"{self.root}/#"
        return f"$share/{group}/{base}" if group else base
