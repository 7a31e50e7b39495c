"""A fleet of simulated devices in one process, sampled by one scheduler thread.

Devices are spread evenly over each sampling period so the broker sees a steady
stream rather than bursts; every sample is stamped with the wall-clock instant it
was due, not the instant the thread got to it.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from simulators.device import Device
from simulators.equipment import Equipment, Motor, Pump
from simulators.errors import ConfigRejected, FaultRejected, SimulatorError
from simulators.faults import FaultSpec, parse_fault
from simulators.operation import Operation
from simulators.topics import check_root

REGION = (47.37, 8.54)  # sites are scattered within ~30 km of this point


@dataclass(frozen=True, slots=True)
class Asset:
    """A simulated asset as the rest of fleetcare provisions it."""

    asset_id: str
    site_id: str
    model: str
    kind: str
    lat: float
    lon: float
    expected_interval_s: float  # between telemetry messages


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """What to simulate and where to publish it."""

    host: str = "127.0.0.1"
    port: int = 1883
    topic_root: str = "fleet"
    devices: int = 6
    rate_hz: float = 1.0
    qos: int = 1
    batch: int = 1  # samples per message
    faults: tuple[FaultSpec, ...] = ()  # or their text, ``pump-003:bearing_wear@60``
    seed: int = 1
    duty_cycles: bool = True
    username: str | None = None
    password: str | None = None
    sites: int = 3
    change_every_s: float | None = 180.0  # mean time between operating-point changes; None holds rated duty
    tls: bool = False
    mqtt_v5: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", tuple(parse_fault(f) if isinstance(f, str) else f for f in self.faults))
        check_root(self.topic_root)
        checks = (
            ("devices", self.devices, isinstance(self.devices, int) and 1 <= self.devices <= 10_000, "1..10000"),
            ("rate_hz", self.rate_hz, _number(self.rate_hz) and 0 < self.rate_hz <= 100, "in (0, 100]"),
            ("qos", self.qos, self.qos in (0, 1, 2), "0, 1 or 2"),
            ("batch", self.batch, isinstance(self.batch, int) and 1 <= self.batch <= 1000, "1..1000"),
            ("sites", self.sites, isinstance(self.sites, int) and 1 <= self.sites <= 1000, "1..1000"),
            ("port", self.port, isinstance(self.port, int) and 0 < self.port < 65536, "1..65535"),
        )
        for name, value, ok, expected in checks:
            if not ok:
                raise ConfigRejected(f"{name} must be {expected}, got {value!r}")
        for fault in self.faults:
            if not isinstance(fault, FaultSpec):
                raise FaultRejected(f"faults must be FaultSpec values, got {fault!r}")


@dataclass(frozen=True, slots=True)
class InjectedFault:
    """A fault injected into a fleet, with its ground truth; the instants are known once the fleet starts."""

    spec: FaultSpec
    onset_at: datetime | None = None
    failure_at: datetime | None = None

    @property
    def asset_id(self) -> str:
        return self.spec.asset_id

    @property
    def mode(self) -> str:
        return self.spec.mode


def plan(config: FleetConfig) -> list[Asset]:
    """The fleet's assets: about two pumps to each motor, dealt round the sites, each near its site."""
    rng = random.Random(f"{config.seed}:layout")
    sites = min(config.sites, config.devices)
    centres = [(REGION[0] + rng.uniform(-0.25, 0.25), REGION[1] + rng.uniform(-0.35, 0.35)) for _ in range(sites)]
    numbers = {"pump": 0, "motor": 0}
    assets = []
    for index in range(config.devices):
        cls: type[Equipment] = Motor if index % 3 == 2 else Pump
        numbers[cls.kind] += 1
        lat, lon = centres[index % sites]
        assets.append(
            Asset(
                asset_id=f"{cls.kind}-{numbers[cls.kind]:03d}",
                site_id=f"site-{index % sites + 1}",
                model=cls.model,
                kind=cls.kind,
                lat=round(lat + rng.uniform(-0.002, 0.002), 6),
                lon=round(lon + rng.uniform(-0.003, 0.003), 6),
                expected_interval_s=config.batch / config.rate_hz,
            )
        )
    return assets


class Fleet:
    """Simulated devices publishing to one broker; ``start()``, then ``stop()`` (or use it as a context manager)."""

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        self.assets: list[Asset] = plan(config)
        kinds = {a.asset_id: a for a in self.assets}
        faults: dict[str, list[FaultSpec]] = {}
        for fault in config.faults:
            if fault.asset_id not in kinds:
                raise FaultRejected(
                    f"fault {fault}: no asset {fault.asset_id!r} in this fleet of {config.devices} "
                    f"({self.assets[0].asset_id} .. {self.assets[-1].asset_id})"
                )
            faults.setdefault(fault.asset_id, []).append(fault)
        operation = Operation(change_every_s=config.change_every_s, duty_cycles=config.duty_cycles)
        self._devices = [
            Device(
                asset.asset_id,
                asset.site_id,
                _unit(asset, config, operation, faults.get(asset.asset_id, [])),
                host=config.host,
                port=config.port,
                topic_root=config.topic_root,
                qos=config.qos,
                batch=config.batch,
                username=config.username,
                password=config.password,
                tls=config.tls,
                mqtt_v5=config.mqtt_v5,
            )
            for asset in self.assets
        ]
        period = 1.0 / config.rate_hz
        self._phases = [i * period / len(self._devices) for i in range(len(self._devices))]
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at: datetime | None = None
        self._started_epoch = 0.0

    def start(self) -> None:
        """Connect every device and start sampling."""
        if self._thread is not None:
            raise SimulatorError("a fleet starts once; build a new Fleet to run again")
        for device in self._devices:
            device.connect()
        self._started_epoch = time.time()
        self.started_at = datetime.fromtimestamp(self._started_epoch, UTC)
        self._thread = threading.Thread(target=self._run, args=(time.monotonic(),), name="fleet-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling; each device sends what is pending, publishes ``offline`` and disconnects."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        for device in self._devices:
            device.close()

    def __enter__(self) -> Fleet:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_online(self, timeout: float) -> bool:
        """Wait until every device is connected; False if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        return all(d.wait_online(max(0.0, deadline - time.monotonic())) for d in self._devices)

    def device(self, asset_id: str) -> Device:
        for device in self._devices:
            if device.asset_id == asset_id:
                return device
        raise KeyError(asset_id)

    @property
    def online(self) -> int:
        """How many devices are connected now."""
        return sum(d.online for d in self._devices)

    @property
    def published(self) -> dict[str, int]:
        """Telemetry messages published so far, per asset."""
        return {d.asset_id: d.published for d in self._devices}

    @property
    def faults(self) -> tuple[InjectedFault, ...]:
        """The injected faults and, once started, when each sets in and when the asset fails (ground truth)."""
        out = []
        for spec in self.config.faults:
            if self.started_at is None:
                out.append(InjectedFault(spec))
                continue
            # A device's clock starts at its first sample, a fraction of a period after the fleet's.
            zero = self.started_at + timedelta(seconds=self._phases[self._index(spec.asset_id)])
            onset, failure = (zero + timedelta(seconds=s) for s in (spec.start_s, spec.failure_s))
            out.append(InjectedFault(spec, onset, failure))
        return tuple(out)

    def _index(self, asset_id: str) -> int:
        return next(i for i, d in enumerate(self._devices) if d.asset_id == asset_id)

    def _run(self, started: float) -> None:
        period = 1.0 / self.config.rate_hz
        taken = [0] * len(self._devices)
        due = [(phase, i) for i, phase in enumerate(self._phases)]
        heapq.heapify(due)
        while not self._stopping.is_set():
            offset, i = due[0]
            delay = started + offset - time.monotonic()
            if delay > 0 and self._stopping.wait(delay):
                return
            k = taken[i]
            taken[i] += 1
            # Due times are computed, not accumulated, so they never drift.
            heapq.heapreplace(due, (self._phases[i] + taken[i] * period, i))
            self._devices[i].sample(k * period, self._started_epoch + offset)


def _unit(asset: Asset, config: FleetConfig, operation: Operation, faults: list[FaultSpec]) -> Equipment:
    cls = Pump if asset.kind == "pump" else Motor
    try:
        return cls(seed=f"{config.seed}:{asset.asset_id}", operation=operation, faults=faults)
    except FaultRejected as exc:
        raise FaultRejected(f"{asset.asset_id}: {exc}") from None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
