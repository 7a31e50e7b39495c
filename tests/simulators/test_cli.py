"""``fleetcare simulate`` against the real broker."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from simulators.cli import broker_settings, main
from simulators.errors import ConfigRejected


def test_simulate_runs_reports_and_stops_cleanly(mqtt_url, topic_root, watch):
    watcher = watch()
    out = io.StringIO()
    argv = ["--devices", "3", "--rate", "5", "--duration", "1.6", "--report-every", "0.5", "--mqtt-url", mqtt_url,
            "--topic-root", topic_root, "--fault", "pump-002:cavitation@30+300", "--seed", "7"]
    assert main(argv, out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("simulating 3 devices (2 pumps, 1 motor)")
    assert re.fullmatch(r"fault pump-002 cavitation: onset \S+Z, failure \S+Z \(ground truth\)", lines[1])
    progress = [line for line in lines if "msg/s" in line]
    assert len(progress) >= 2 and "online 3/3" in progress[-1]
    assert float(progress[-1].split()[4]) == pytest.approx(15, abs=3)
    published = int(re.fullmatch(r"stopped: (\d+) messages published", lines[-1]).group(1))
    assert 20 <= published <= 30
    statuses = watcher.wait_for(lambda ms: sum(m.payload == b"offline" for m in ms) == 3)
    assert sum(m.topic.endswith("/telemetry") for m in statuses) == published


def test_sigterm_stops_the_simulation_cleanly(mqtt_url, topic_root, watch):
    watcher = watch()
    timer = threading.Timer(0.8, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    out = io.StringIO()
    try:
        assert main(["--devices", "1", "--mqtt-url", mqtt_url, "--topic-root", topic_root, "--duration", "20"],
                    out=out) == 0
    finally:
        timer.cancel()
    assert out.getvalue().splitlines()[-1].startswith("stopped:")
    watcher.wait_for(lambda ms: [m.payload for m in ms if m.topic.endswith("/status")] == [b"online", b"offline"])


def test_ctrl_c_stops_the_simulation_cleanly(mqtt_url, topic_root, watch):
    watcher = watch()
    # A shell may start background jobs with SIGINT ignored; a terminal would deliver it.
    script = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from simulators.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, "--devices", "2", "--mqtt-url", mqtt_url, "--topic-root", topic_root],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        watcher.wait_for(lambda ms: sum(m.payload == b"online" for m in ms) == 2)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=10)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 0
    assert "interrupted, stopping" in out and out.splitlines()[-1].startswith("stopped:")
    watcher.wait_for(lambda ms: sum(m.payload == b"offline" for m in ms) == 2)


@pytest.mark.parametrize("argv, reason", [
    (["--fault", "pump-003:rust@30"], "unknown failure mode 'rust'"),
    (["--fault", "pump-003:bearing_wear"], "expected ASSET:MODE@SECONDS[+DURATION]"),
    (["--devices", "2", "--fault", "pump-003:bearing_wear@30"], "no asset 'pump-003'"),
    (["--devices", "0"], "devices must be"),
    (["--rate", "-1"], "expected a positive number"),
    (["--mqtt-url", "http://broker"], "broker URL must look like mqtt://host:1883"),
    (["--qos", "3"], "invalid choice"),
])
def test_bad_arguments_exit_with_a_clear_message(argv, reason, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert reason in capsys.readouterr().err


def test_broker_urls():
    assert broker_settings("mqtt://127.0.0.1:1884") == {
        "host": "127.0.0.1", "port": 1884, "tls": False, "username": None, "password": None}
    assert broker_settings("mqtts://dev%40site:p%3Ass@broker.example") == {
        "host": "broker.example", "port": 8883, "tls": True, "username": "dev@site", "password": "p:ss"}
    with pytest.raises(ConfigRejected, match="invalid port"):
        broker_settings("mqtt://host:99999")
