"""``fleetcare up``: database, broker, gateway with the detector, notifications, API and a simulated fleet."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass

import uvicorn

from gateway.housekeeping import run_dead_letter_job
from gateway.mqtt import BrokerAddress
from gateway.worker import Gateway, GatewayConfig
from service_core.app import create_app
from service_core.db import create_pool
from service_core.intake.mail import mail_server
from service_core.intake.models import ServiceRequest
from service_core.notifications.publisher import run_publisher
from service_core.plans.job import run_plan_job
from service_core.runtime.console import Console
from service_core.runtime.demo import provision_fleet
from service_core.runtime.detection import Detection, DetectionStage
from service_core.runtime.faults import FaultIntake
from service_core.runtime.infrastructure import Infrastructure
from service_core.runtime.ports import free_port
from service_core.settings import Settings
from service_core.sla.job import run_sla_job
from service_core.surveys.channels import configured_channels
from service_core.surveys.job import run_survey_job
from simulators.errors import ConfigRejected
from simulators.fleet import Fleet, FleetConfig
from telemetry import store as telemetry_store
from telemetry.storage import run_storage_job

DEFAULT_FAULT = "pump-003:bearing_wear@120+300"  # once the detector has learned the fleet; fails 5 min later
STATUS_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class UpOptions:
    simulate: int = 0
    rate_hz: float = 2.0
    faults: list[str] | None = None  # None: the default fault when the fleet has a pump-003
    seed: int = 1
    duration_s: float | None = None


class ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: Ctrl-C belongs to ``fleetcare up``."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def run_up(settings: Settings, options: UpOptions, *, console: Console | None = None) -> int:
    console = console or Console()
    try:  # refuse bad fleet options before any server starts
        fleet = _fleet(settings, options, host="127.0.0.1", port=1883) if options.simulate else None
    except ConfigRejected as exc:
        print(f"fleetcare up: {exc}", file=sys.stderr)
        return 2
    console.say("fleetcare: starting…")
    with Infrastructure(settings) as infra:
        if fleet is not None:
            fleet = _fleet(settings, options, host=infra.broker.host, port=infra.broker.port)
        asyncio.run(serve(settings, infra, fleet=fleet, console=console, duration_s=options.duration_s))
    console.say("fleetcare: stopped")
    return 0


def _fleet(settings: Settings, options: UpOptions, *, host: str, port: int) -> Fleet:
    faults = options.faults
    if faults is None:
        faults = [DEFAULT_FAULT] if options.simulate >= 3 else []
    credentials = BrokerAddress.parse(settings.mqtt_url) if settings.mqtt_url else BrokerAddress(host)
    return Fleet(FleetConfig(
        host=host, port=port, topic_root=settings.topic_root, devices=options.simulate, rate_hz=options.rate_hz,
        faults=tuple(faults), seed=options.seed, username=credentials.username, password=credentials.password,
    ))


async def serve(
    settings: Settings, infra: Infrastructure, *, fleet: Fleet | None, console: Console,
    duration_s: float | None = None, stop: asyncio.Event | None = None,
) -> DetectionStage:
    """Run every component until ``stop`` is set (Ctrl-C / SIGTERM set it) or ``duration_s`` passes."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    pool = create_pool(infra.database_url, min_size=2, max_size=10, name="fleetcare")
    await pool.open(wait=True)
    mail = None
    try:
        if fleet is not None:
            async with pool.connection() as conn, conn.transaction():
                await provision_fleet(conn, assets=fleet.assets)
        detection = DetectionStage(pool, on_detection=lambda d: console.event(describe(d)))
        faults = FaultIntake(pool, on_request=lambda i: console.event(describe_request(i.request)))
        gateway = Gateway(
            GatewayConfig(broker=infra.broker, client_id=settings.gateway_client_id, topic_root=settings.topic_root,
                          shared_group=settings.gateway_shared_group, mqtt5=infra.mqtt5,
                          **settings.gateway_spool(settings.gateway_client_id)),
            pool, processors=[detection], fault_processors=[faults],
        )
        port = free_port(settings.api_port, settings.api_host)
        app = create_app(database_url=infra.database_url, pool=pool, metrics=[gateway.stats.prometheus])
        api = ApiServer(uvicorn.Config(app, host=settings.api_host, port=port, log_level="warning"))
        mail = mail_server(infra.database_url, host=settings.smtp_host,
                           port=free_port(settings.smtp_port, settings.smtp_host))
        await asyncio.to_thread(mail.start)
        survey_channels = configured_channels(
            smtp_host=settings.survey_smtp_host, smtp_port=settings.survey_smtp_port, sender=settings.survey_smtp_from,
            webhook_url=settings.survey_webhook_url,
        )
        _banner(console, settings, infra, port, fleet, mail=(mail.hostname, mail.port), surveys=survey_channels)
        tasks = [
            asyncio.create_task(gateway.run(stop), name="gateway"),
            asyncio.create_task(run_publisher(pool, broker=infra.broker, stop=stop), name="notifications"),
            asyncio.create_task(run_sla_job(pool, stop=stop), name="sla"),
            asyncio.create_task(run_plan_job(pool, stop=stop), name="plans"),
            asyncio.create_task(run_storage_job(pool, settings.storage_policy(), stop=stop), name="storage"),
            asyncio.create_task(run_dead_letter_job(pool, stop=stop, **settings.dead_letter_retention()),
                                name="dead letters"),
            asyncio.create_task(run_survey_job(
                pool, stop=stop, channels=survey_channels,
                public_url=settings.survey_public_url or f"http://{settings.api_host}:{port}",
            ), name="surveys"),
            asyncio.create_task(api.serve(), name="api"),
            asyncio.create_task(_report(console, pool, gateway, detection, fleet, stop), name="console"),
        ]
        if fleet is not None:
            await asyncio.to_thread(fleet.start)
            for fault in fleet.faults:
                console.event(f"simulated fault: {fault.spec.asset_id} {fault.spec.mode} develops from "
                              f"{fault.onset_at:%H:%M:%S} to a failure at {fault.failure_at:%H:%M:%S} UTC")
        try:
            await asyncio.wait_for(stop.wait(), duration_s)
        except TimeoutError:
            pass
        console.say("stopping…")
        if fleet is not None:
            await asyncio.to_thread(fleet.stop)
        stop.set()
        api.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await detection.checkpoint()
        return detection
    finally:
        if mail is not None:
            await asyncio.to_thread(mail.stop)
        await pool.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def describe(detection: Detection) -> str:
    """One or two lines for the console about an alert and its order."""
    alert = detection.alert
    signals = ", ".join(f"{s.metric} {s.value:.1f} ({s.deviation:+.1f}σ)" for s in alert.signals[:3])
    mode = alert.failure_mode.replace("_", " ")
    text = f"ANOMALY {alert.asset_id}: probable {mode} (score {alert.score:.2f}) — {signals}"
    ttf = alert.time_to_failure
    if ttf is not None:
        text += f" — failure within ~{_duration(ttf.hours)} ({_duration(ttf.low)}–{_duration(ttf.high)})"
    order = detection.order
    if order is None:
        return text + "\n         a preventive order for it is already open"
    who = order.dispatch.explain() if order.dispatch else "nobody available yet: left unassigned"
    return text + f"\n         WORK ORDER #{order.work_order_id} ({order.priority}) → {who}"


def describe_request(request: ServiceRequest) -> str:
    """One line for the console about a service request a device raised."""
    r = request
    state = f"joins request #{r.duplicate_of}" if r.status == "duplicate" else "open"
    return f"SERVICE REQUEST {r.tracking_code} ({r.channel}) {r.asset_id}: {r.subject} — {state}"


def _duration(hours: float) -> str:
    return f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"


def _banner(
    console: Console, settings: Settings, infra: Infrastructure, port: int, fleet: Fleet | None, *,
    mail: tuple[str, int] | None = None, surveys: dict | None = None,
) -> None:
    base = f"http://{settings.api_host}:{port}"
    lines = [
        "fleetcare is up",
        f"  fleet health   {base}/",
        f"  API docs       {base}/docs" + ("" if port == settings.api_port else f"  ({settings.api_port} was taken)"),
        f"  metrics        {base}/metrics  (the gateway's included; health: {base}/health)",
        f"  PostgreSQL     {infra.database_url}  ({infra.notes['database']}; schema {infra.notes['schema']})",
        f"  MQTT broker    {infra.mqtt_url}  ({infra.notes['broker']})",
        f"  devices        {settings.topic_root}/{{site}}/{{asset_id}}/telemetry",
    ]
    if mail is not None:
        taken = "" if mail[1] == settings.smtp_port else f"  ({settings.smtp_port} was taken)"
        lines.append(f"  service mail   smtp://{mail[0]}:{mail[1]}  (e-mail to service requests){taken}")
    if surveys is not None:
        how = ", ".join(map(repr, surveys.values())) or "no channel configured: recorded as unsendable"
        lines.append(f"  surveys        {how}")
    if fleet is not None:
        lines.append(f"  simulating     {len(fleet.assets)} devices at {fleet.config.rate_hz:g} Hz")
    lines.append("Press Ctrl-C to stop.")
    console.say("\n".join(lines))


async def _report(console, pool, gateway, detection, fleet, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)
            return
        try:
            async with pool.connection() as conn:
                online, devices = await telemetry_store.count_online(conn)
        except Exception:  # the status line is best effort; the components log their own trouble
            continue
        console.status(stats=gateway.stats, online=online, devices=devices, anomalies=detection.alerts,
                       orders=detection.orders)
