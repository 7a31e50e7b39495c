"""The simulators' named errors."""


class SimulatorError(Exception):
    """Root of every error the simulators raise on purpose."""


class ConfigRejected(SimulatorError, ValueError):
    """A simulator, device or fleet setting that cannot work."""


class FaultRejected(ConfigRejected):
    """A fault specification that is malformed or does not apply to the equipment."""
