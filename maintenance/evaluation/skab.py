"""The production monitor replayed over the SKAB pump benchmark, file by file, as a stream.

Each labelled file is one run of a water-pump test bed: a new asset, watched by a fresh
:class:`~maintenance.monitor.ConditionMonitor` exactly as the gateway feeds it, in batches of
samples in time order. The benchmark's protocol takes the first ``TRAINING_ROWS`` rows of a
file as healthy training; the monitor learns them (a start-up settle followed by its warm-up)
and scores every later row before learning from it. A row counts as anomalous while the
asset's alert is open and its signals still deviate; a changepoint is every change of the
alert's state (raised, recovered, relapsed, cleared).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from maintenance.alerts import State
from maintenance.detector import ConditionDetector
from maintenance.errors import MaintenanceError
from maintenance.evaluation.metrics import Scores, Series, evaluate
from maintenance.monitor import ConditionMonitor
from telemetry.readings import Sample

TRAINING_ROWS = 400
FEATURES = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
LABELS = ("anomaly", "changepoint")
MODEL = "SKAB test bed"  # no profile: watched on what it sends, as any equipment fleetcare has no datasheet for
BATCH = 50  # samples per batch, about what a gateway batch holds for one asset


class DatasetRejected(MaintenanceError, ValueError):
    """A benchmark file that cannot be read as SKAB: missing columns, unparseable times or values."""


@dataclass(frozen=True, slots=True)
class Recording:
    """One labelled benchmark file."""

    name: str
    ts: np.ndarray  # datetime64[ns], one per row
    features: np.ndarray  # rows x FEATURES
    anomaly: np.ndarray
    changepoint: np.ndarray


@dataclass(frozen=True, slots=True)
class Run:
    """What the monitor said about one recording's scored rows."""

    recording: Recording
    deviating: np.ndarray  # per scored row, 0/1
    changed: np.ndarray  # per scored row, 0/1: the alert's state changed at it
    alerts: int

    def series(self) -> Series:
        rec = self.recording
        t = (rec.ts[TRAINING_ROWS:] - rec.ts[0]) / np.timedelta64(1, "s")
        return Series(
            rec.name,
            t.astype(float),
            rec.anomaly[TRAINING_ROWS:],
            rec.changepoint[TRAINING_ROWS:],
            self.deviating,
            self.changed,
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Pooled scores, per-file scores, and how fast the monitor went."""

    scores: Scores
    per_file: dict[str, Scores]
    skipped: tuple[str, ...]
    readings: int
    cpu_s: float
    parameters: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "benchmark": "SKAB",
            "protocol": {
                "training_rows": TRAINING_ROWS,
                "outliers": "pooled over every scored row of every file",
                "changepoints": "NAB, 60 s windows to the right of each true changepoint",
            },
            "files": len(self.per_file),
            "skipped": list(self.skipped),
            "pooled": self.scores.as_dict(),
            "per_file": {name: scores.as_dict() for name, scores in self.per_file.items()},
            "readings": self.readings,
            "cpu_s": round(self.cpu_s, 3),
            "readings_per_cpu_s": round(self.readings / self.cpu_s) if self.cpu_s > 0 else None,
            "detector": self.parameters,
        }


def find(root: Path) -> list[Path]:
    """The CSV files under ``root`` (or ``root`` itself), folder by folder, numbered files in numeric order."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DatasetRejected(f"{root}: no such file or directory")

    def key(path: Path):
        stem = path.stem
        return (str(path.parent.relative_to(root)), int(stem) if stem.isdigit() else float("inf"), stem)

    return sorted(root.rglob("*.csv"), key=key)


def read(path: Path, name: str | None = None) -> Recording | None:
    """One file as a :class:`Recording`; ``None`` for a file without labels (the anomaly-free run)."""
    name = name or path.name
    try:
        frame = pd.read_csv(path, sep=";")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DatasetRejected(f"{name}: cannot be read as SKAB ({exc})") from exc
    missing = [c for c in ("datetime", *FEATURES) if c not in frame.columns]
    if missing:
        raise DatasetRejected(f"{name}: missing column(s) {', '.join(missing)}")
    if not all(c in frame.columns for c in LABELS):
        return None
    if len(frame) <= TRAINING_ROWS:
        raise DatasetRejected(f"{name}: {len(frame)} rows, the protocol trains on the first {TRAINING_ROWS}")
    try:
        ts = pd.to_datetime(frame["datetime"]).to_numpy(dtype="datetime64[ns]")
        features = frame[list(FEATURES)].to_numpy(dtype=float)
        labels = frame[list(LABELS)].to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise DatasetRejected(f"{name}: {exc}") from exc
    if not np.isfinite(features).all():
        raise DatasetRejected(f"{name}: a feature value is missing or not a number")
    return Recording(name, ts, features, labels[:, 0], labels[:, 1])


def load(root: Path) -> tuple[list[Recording], list[str]]:
    """Every labelled recording under ``root``, and the names of the files skipped for having no labels."""
    recordings, skipped = [], []
    for path in find(root):
        name = str(path.relative_to(root)) if root.is_dir() else path.name
        recording = read(path, name)
        if recording is None:
            skipped.append(name)
        else:
            recordings.append(recording)
    if not recordings:
        raise DatasetRejected(f"{root}: no labelled SKAB file found")
    return recordings, skipped


def new_monitor() -> ConditionMonitor:
    """The production monitor, with a warm-up that ends with the protocol's training rows."""
    # the first ``settle`` seconds of a unit's run are neither learned nor scored; the warm-up is the rest
    settle = int(ConditionDetector().settle)
    return ConditionMonitor(warm_up=TRAINING_ROWS - settle)


def replay(recording: Recording, monitor: ConditionMonitor | None = None) -> Run:
    """Feed one recording through a monitor as a stream; what it said about every scored row."""
    monitor = monitor or new_monitor()
    asset = recording.name
    models = {asset: MODEL}
    stamps = [datetime.fromtimestamp(ns / 1e9, UTC) for ns in recording.ts.astype("int64").tolist()]
    rows = recording.features.tolist()
    deviating = np.zeros(len(rows), dtype=np.int8)
    changed = np.zeros(len(rows), dtype=np.int8)
    alerts = 0
    for start in range(0, len(rows), BATCH):
        batch = [
            Sample(asset, stamps[i], dict(zip(FEATURES, rows[i], strict=True)))
            for i in range(start, min(start + BATCH, len(rows)))
        ]
        result = monitor.process(batch, models)
        alerts += len(result.alerts)
        # a sample the monitor had already seen (restored from a checkpoint) gets no score
        row = {sample.ts: i for i, sample in enumerate(batch, start)}
        for score in result.scores:
            i = row[score.ts]
            deviating[i] = score.state is State.DEVIATING
            changed[i] = score.transition is not None
    scored = slice(TRAINING_ROWS, None)
    return Run(recording, deviating[scored], changed[scored], alerts)


def run(recordings: Sequence[Recording], skipped: Iterable[str] = ()) -> Evaluation:
    """Replay every recording with a fresh monitor, and score the runs pooled and one by one."""
    started = time.process_time()
    runs = [replay(r) for r in recordings]
    cpu = time.process_time() - started
    series = [r.series() for r in runs]
    return Evaluation(
        scores=evaluate(series),
        per_file={s.name: evaluate([s]) for s in series},
        skipped=tuple(skipped),
        readings=sum(len(r.ts) for r in recordings),
        cpu_s=cpu,
        parameters=_parameters(new_monitor()),
    )


def _parameters(monitor: ConditionMonitor) -> dict:
    """The configuration every recording is watched with: the same for all, fixed in code."""
    detector = monitor.detector_for(MODEL, FEATURES)
    return {"detector": detector._get_params(), "decision": monitor.decision._get_params()}


def report(evaluation: Evaluation) -> str:
    """The figures as a few lines of text."""
    s = evaluation.scores
    lines = [
        f"SKAB: {len(evaluation.per_file)} labelled files"
        + (f" ({len(evaluation.skipped)} without labels skipped)" if evaluation.skipped else ""),
        f"outliers     F1 {s.f1:.3f}   FAR {s.far:.2f} %   MAR {s.mar:.2f} %   "
        f"(TP {s.tp}, FP {s.fp}, FN {s.fn}, TN {s.tn})",
        f"changepoints NAB standard {s.nab_standard:.2f}   low-FP {s.nab_low_fp:.2f}   low-FN {s.nab_low_fn:.2f}",
        f"             {s.changepoints} true, {s.missed} missed, {s.false_positives} false positives, "
        f"mean detection delay {s.mean_delay_s:.1f} s",
        f"speed        {evaluation.readings} readings in {evaluation.cpu_s:.2f} s of CPU "
        f"({evaluation.readings / evaluation.cpu_s:,.0f} readings/s, batching and bookkeeping included)",
    ]
    return "\n".join(lines)
