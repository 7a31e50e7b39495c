"""Condition monitoring's named errors."""


class MaintenanceError(Exception):
    """Root of every error condition monitoring raises on purpose."""


class UnknownAsset(MaintenanceError, KeyError):
    """No monitoring state is held for the asset."""


class StateRejected(MaintenanceError, ValueError):
    """A checkpoint that cannot be restored (corrupt, or written by an incompatible version)."""
