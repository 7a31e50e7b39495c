"""The topics a device publishes on: ``{root}/{site}/{asset_id}/{telemetry|status|faults}``.

Devices sit upstream of the gateway, so they carry their own copy of the contract
rather than importing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulators.errors import ConfigRejected

ROOT = "fleet"
_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def is_valid_id(value: object) -> bool:
    """Whether ``value`` may be a site or asset id (1-64 letters, digits, ``_``, ``-``, ``.``)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_root(root: object) -> str:
    """``root`` if it can prefix device topics, else :class:`ConfigRejected`."""
    if not isinstance(root, str) or not root or root.startswith(("$", "/")) or root.endswith("/"):
        raise ConfigRejected(f"invalid topic root {root!r}")
    if any(c in root for c in "+#\0"):
        raise ConfigRejected(f"invalid topic root {root!r}: wildcards are not allowed")
    return root


@dataclass(frozen=True, slots=True)
class DeviceTopics:
    """The three topics of one device."""

    telemetry: str
    status: str
    faults: str

    @classmethod
    def of(cls, root: str, site_id: str, asset_id: str) -> DeviceTopics:
        check_root(root)
        for label, value in (("site id", site_id), ("asset id", asset_id)):
            if not is_valid_id(value):
                raise ConfigRejected(f"invalid {label} {value!r}: 1-64 letters, digits, '_', '-' or '.'")
        base = f"{root}/{site_id}/{asset_id}"
        return cls(f"{base}/telemetry", f"{base}/status", f"{base}/faults")
