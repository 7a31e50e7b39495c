"""The production monitor on the SKAB pump benchmark: the published targets hold, and bad files are refused clearly.

The benchmark is read from where the team keeps it (``FLEETCARE_SKAB_DIR``, or ``datasets/skab`` in
the ``shared`` folder beside the project); it is never copied into the project.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path

import pytest

from maintenance.evaluation import skab
from service_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [os.environ.get("FLEETCARE_SKAB_DIR"), ROOT.parent / "shared" / "datasets" / "skab"]
DATASET = next((Path(c) for c in CANDIDATES if c and (Path(c) / "valve1").is_dir()), None)
needs_dataset = pytest.mark.skipif(
    DATASET is None, reason="the SKAB benchmark is not on this machine (set FLEETCARE_SKAB_DIR)"
)
FIGURES = ("f1", "far", "mar", "nab_standard", "nab_low_fp", "nab_low_fn", "missed", "false_positives", "mean_delay_s")


@pytest.fixture(scope="module")
def evaluation() -> skab.Evaluation:
    recordings, skipped = skab.load(DATASET)
    return skab.run(recordings, skipped)


@needs_dataset
def test_the_detector_beats_the_published_leaderboard(evaluation):
    s = evaluation.scores
    assert len(evaluation.per_file) >= 30 and evaluation.skipped == ("anomaly-free/anomaly-free.csv",)
    # best published: Conv-AE F1 0.78 at FAR 13.55 %; MSCRED NAB 32.42 with 342 false positives
    assert s.f1 >= 0.80 and s.far <= 15.0
    assert s.nab_standard >= 33.0 and s.nab_low_fp >= 22.0 and s.false_positives < 150
    assert 0 < s.mean_delay_s < 60


@needs_dataset
def test_a_file_is_scored_only_after_its_training_rows(evaluation):
    recording = skab.read(DATASET / "valve1" / "3.csv", "valve1/3.csv")
    run = skab.replay(recording)
    assert len(run.deviating) == len(recording.ts) - skab.TRAINING_ROWS
    # the same stream replayed gives the same verdicts: nothing but the readings decides them
    assert (skab.replay(recording).deviating == run.deviating).all()
    assert run.alerts >= 1 and run.deviating.any()


@needs_dataset
def test_the_command_prints_and_writes_the_figures(tmp_path, capsys):
    out = tmp_path / "skab.json"
    assert main(["eval", "skab", str(DATASET / "valve1"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "F1" in printed and "NAB standard" in printed and "false positives" in printed
    figures = json.loads(out.read_text())
    pooled = figures["pooled"]
    assert figures["files"] == 16
    for key in FIGURES:
        value = pooled[key]
        assert value is not None and not (isinstance(value, float) and math.isnan(value)), key
    assert set(figures["per_file"]) == {f"{i}.csv" for i in range(16)}


@needs_dataset
def test_a_restart_in_the_middle_of_a_fault_changes_nothing():
    """The monitor checkpointed while the valve is closed and its alert open, restored in a new process, carries on."""
    recording = skab.read(DATASET / "valve1" / "5.csv", "valve1/5.csv")
    uninterrupted = skab.replay(recording)
    cut = 777  # rows, mid-batch; the alert is open by then
    first = skab.Recording(recording.name, recording.ts[:cut], recording.features[:cut], recording.anomaly[:cut],
                           recording.changepoint[:cut])
    monitor = skab.new_monitor()
    before = skab.replay(first, monitor)
    assert before.deviating[-1] == 1  # mid-episode
    moved = skab.new_monitor()
    moved.restore(recording.name, pickle.loads(pickle.dumps(monitor.checkpoint(recording.name))))
    rest = skab.replay(recording, moved)  # rows already seen are skipped by the restored monitor
    assert (rest.deviating[cut - skab.TRAINING_ROWS:] == uninterrupted.deviating[cut - skab.TRAINING_ROWS:]).all()
    assert (rest.changed[cut - skab.TRAINING_ROWS:] == uninterrupted.changed[cut - skab.TRAINING_ROWS:]).all()


def test_a_file_that_is_not_skab_is_refused_with_its_reason(tmp_path, capsys):
    bad = tmp_path / "pump.csv"
    bad.write_text("datetime;Current\n2020-01-01 00:00:00;1.0\n")
    with pytest.raises(skab.DatasetRejected, match="missing column"):
        skab.load(tmp_path)
    assert main(["eval", "skab", str(tmp_path)]) == 2
    assert "missing column" in capsys.readouterr().err
    assert main(["eval", "skab", str(tmp_path / "nowhere")]) == 2


def test_a_file_too_short_to_train_on_is_refused(tmp_path):
    header = "datetime;" + ";".join(skab.FEATURES) + ";anomaly;changepoint\n"
    rows = "".join(f"2020-01-01 00:{i // 60:02d}:{i % 60:02d};" + ";".join(["1.0"] * 8) + ";0;0\n" for i in range(100))
    (tmp_path / "short.csv").write_text(header + rows)
    with pytest.raises(skab.DatasetRejected, match="trains on the first 400"):
        skab.load(tmp_path)
