"""The gateway's named errors."""

from __future__ import annotations

from pathlib import Path


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""


class PayloadRejected(GatewayError):
    """A message that cannot be accepted; ``reason`` is what the dead-letter table keeps."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TopicRejected(PayloadRejected):
    """The topic does not follow the documented scheme."""


class SpoolCorrupt(GatewayError):
    """A spooled batch's file cannot be read back; it is set aside (``.corrupt``), not deleted."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"spooled batch {path} cannot be read: {reason}")
        self.path = path
