"""The gateway's named errors."""


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""


class PayloadRejected(GatewayError):
    """A message that cannot be accepted; ``reason`` is what the dead-letter table keeps."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TopicRejected(PayloadRejected):
    """The topic does not follow the documented scheme."""
