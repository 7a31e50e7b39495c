"""``fleetcare simulate``: run a fleet of simulated devices against a broker until Ctrl-C or ``--duration``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO
from urllib.parse import unquote, urlsplit

from simulators.errors import ConfigRejected
from simulators.faults import FORM, FaultSpec, parse_fault
from simulators.fleet import Fleet, FleetConfig


def broker_settings(url: str) -> dict:
    """``host``, ``port``, ``tls``, ``username``, ``password`` from ``mqtt://[user[:password]@]host[:port]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigRejected(f"broker URL must look like mqtt://host:1883 or mqtts://host:8883, got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ConfigRejected(f"invalid port in broker URL {url!r}") from None
    tls = parts.scheme == "mqtts"
    return {
        "host": parts.hostname,
        "port": port or (8883 if tls else 1883),
        "tls": tls,
        "username": unquote(parts.username) if parts.username is not None else None,
        "password": unquote(parts.password) if parts.password is not None else None,
    }


def _fault(text: str) -> FaultSpec:
    try:
        return parse_fault(text)
    except ConfigRejected as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetcare simulate",
        description="Simulate pumps and motors publishing telemetry over MQTT.",
    )
    add = parser.add_argument
    add("--devices", type=int, default=6, help="how many devices (about two pumps per motor; default 6)")
    add("--rate", type=_positive, default=1.0, metavar="HZ", help="samples per second per device (default 1)")
    add("--fault", type=_fault, action="append", default=[], metavar=FORM,
        help="inject a fault, e.g. pump-003:bearing_wear@30+600 (repeatable)")
    add("--mqtt-url", default="mqtt://127.0.0.1:1883", help="broker, mqtt://[user[:password]@]host:port")
    add("--topic-root", default="fleet", help="topic prefix (default fleet)")
    add("--qos", type=int, choices=(0, 1, 2), default=1)
    add("--batch", type=int, default=1, metavar="N", help="samples per message (default 1)")
    add("--seed", type=int, default=1)
    add("--sites", type=int, default=3)
    add("--duration", type=_positive, metavar="SECONDS", help="stop after this long (default: run until Ctrl-C)")
    add("--no-duty-cycles", action="store_true", help="keep every unit running")
    add("--change-every", type=float, default=180.0, metavar="SECONDS",
        help="mean time between operating-point changes; 0 holds rated duty (default 180)")
    add("--mqtt-v5", action="store_true", help="speak MQTT 5 instead of 3.1.1")
    add("--report-every", type=_positive, default=5.0, metavar="SECONDS", help="progress line interval (default 5)")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run ``fleetcare simulate``; returns the exit status."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = FleetConfig(
            **broker_settings(args.mqtt_url),
            topic_root=args.topic_root,
            devices=args.devices,
            rate_hz=args.rate,
            qos=args.qos,
            batch=args.batch,
            faults=tuple(args.fault),
            seed=args.seed,
            sites=args.sites,
            duty_cycles=not args.no_duty_cycles,
            change_every_s=args.change_every if args.change_every > 0 else None,
            mqtt_v5=args.mqtt_v5,
        )
        fleet = Fleet(config)
    except ConfigRejected as exc:
        parser.error(str(exc))
    _run(fleet, args.duration, args.report_every, out)
    return 0


def _run(fleet: Fleet, duration: float | None, report_every: float, out: TextIO) -> None:
    config = fleet.config
    pumps = sum(a.kind == "pump" for a in fleet.assets)
    motors = len(fleet.assets) - pumps
    print(
        f"simulating {len(fleet.assets)} devices ({_count(pumps, 'pump')}, {_count(motors, 'motor')}) "
        f"on {config.host}:{config.port}, topic root {config.topic_root!r}, {config.rate_hz:g} Hz, "
        f"qos {config.qos}, batch {config.batch}",
        file=out,
        flush=True,
    )
    stopping = threading.Event()
    restore = _on_sigterm(stopping.set)
    try:
        # inside the try: devices announce themselves while start() runs, and Ctrl-C may come then
        fleet.start()
        for fault in fleet.faults:
            print(
                f"fault {fault.asset_id} {fault.mode}: onset {fault.onset_at:%H:%M:%S}Z, "
                f"failure {fault.failure_at:%H:%M:%S}Z (ground truth)",
                file=out,
                flush=True,
            )
        began = time.monotonic()
        last_time, last_count = began, 0
        while not stopping.is_set():
            left = None if duration is None else began + duration - time.monotonic()
            if left is not None and left <= 0:
                break
            if stopping.wait(report_every if left is None else min(report_every, left)):
                break
            now, count = time.monotonic(), sum(fleet.published.values())
            if now - last_time >= report_every * 0.99:
                rate = (count - last_count) / (now - last_time)
                print(
                    f"{now - began:8.1f} s  online {fleet.online}/{len(fleet.assets)}  "
                    f"{rate:7.1f} msg/s  published {count}",
                    file=out,
                    flush=True,
                )
                last_time, last_count = now, count
    except KeyboardInterrupt:
        print("interrupted, stopping", file=out, flush=True)
    finally:
        fleet.stop()
        restore()
    print(f"stopped: {sum(fleet.published.values())} messages published", file=out, flush=True)


def _on_sigterm(handler: Callable[[], None]) -> Callable[[], object]:
    """Treat SIGTERM like Ctrl-C (a clean stop); returns what undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: handler())
    return lambda: signal.signal(signal.SIGTERM, previous)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
