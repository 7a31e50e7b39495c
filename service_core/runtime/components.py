"""Each component as a process of its own, against configured PostgreSQL and broker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator

import uvicorn
from psycopg_pool import AsyncConnectionPool

from gateway.housekeeping import run_dead_letter_job
from gateway.metrics_http import serve_metrics
from gateway.mqtt import BrokerAddress
from gateway.worker import Gateway, GatewayConfig, SampleProcessor
from service_core.app import create_app
from service_core.db import create_pool
from service_core.health import pool_metrics
from service_core.intake.mail import mail_server
from service_core.notifications.publisher import run_publisher
from service_core.plans.job import run_plan_job
from service_core.runtime.detection import DetectionStage
from service_core.runtime.detector_processes import DetectorProcesses
from service_core.runtime.faults import FaultIntake
from service_core.runtime.ports import free_port
from service_core.runtime.up import ApiServer
from service_core.settings import Settings
from service_core.sla.job import run_sla_job
from service_core.surveys.channels import configured_channels
from service_core.surveys.job import run_survey_job
from telemetry.storage import run_storage_job


def _require(settings: Settings, *names: str) -> bool:
    missing = [n for n in names if not getattr(settings, n)]
    for name in missing:
        print(f"fleetcare: set FLEETCARE_{name.upper()} (this component runs against configured services)",
              file=sys.stderr)
    return not missing


def run_gateway(settings: Settings) -> int:
    """A gateway worker with the detector, the notification publisher, the SLA, plan and storage jobs."""
    if not _require(settings, "database_url", "mqtt_url"):
        return 2
    asyncio.run(_gateway(settings))
    return 0


async def _gateway(settings: Settings) -> None:
    stop = _stop_on_signals()
    broker = BrokerAddress.parse(settings.mqtt_url)
    pool = create_pool(settings.database_url, min_size=2, max_size=8, name="gateway")
    await pool.open(wait=True)
    try:
        async with _detector(settings, pool) as detection:
            await _serve_gateway(settings, pool, broker, detection, stop)
    finally:
        await pool.close()


async def _serve_gateway(
    settings: Settings, pool: AsyncConnectionPool, broker: BrokerAddress, detection: SampleProcessor | None,
    stop: asyncio.Event,
) -> None:
    gateway = Gateway(
        GatewayConfig(broker=broker, client_id=settings.gateway_client_id, topic_root=settings.topic_root,
                      shared_group=settings.gateway_shared_group,
                      mqtt5=True if settings.mqtt5 is None else settings.mqtt5,
                      **settings.gateway_spool(settings.gateway_client_id)),
        pool, processors=[detection] if detection else [], fault_processors=[FaultIntake(pool)],
    )
    port = free_port(settings.gateway_metrics_port, settings.api_host)

    def metrics() -> str:
        return gateway.stats.prometheus() + pool_metrics(pool)

    async with serve_metrics(settings.api_host, port, metrics=metrics, health=gateway.stats.health) as (host, port):
        taken = "" if port == settings.gateway_metrics_port else f" ({settings.gateway_metrics_port} was taken)"
        print(f"gateway {settings.gateway_client_id} consuming {settings.topic_root}/# from {broker}; "
              f"metrics on http://{host}:{port}/metrics, health on /health{taken}", flush=True)
        await asyncio.gather(
            gateway.run(stop), run_publisher(pool, broker=broker, stop=stop), run_sla_job(pool, stop=stop),
            run_plan_job(pool, stop=stop), run_storage_job(pool, settings.storage_policy(), stop=stop),
            run_dead_letter_job(pool, stop=stop, **settings.dead_letter_retention()),
        )


@contextlib.asynccontextmanager
async def _detector(settings: Settings, pool: AsyncConnectionPool) -> AsyncIterator[SampleProcessor | None]:
    """The detector: in processes of its own (checkpointed as they stop), or in this one; None for ingest only."""
    if not settings.detection:
        yield None
        return
    if not settings.detector_processes:
        stage = DetectionStage(pool)
        yield stage
        await stage.checkpoint()
        return
    processes = DetectorProcesses(settings.database_url, settings.detector_processes)
    await processes.start()
    try:
        yield processes
    finally:
        await processes.stop()


def run_api(settings: Settings) -> int:
    """The HTTP API, the fleet-health page and the survey job."""
    if not _require(settings, "database_url"):
        return 2
    asyncio.run(_api(settings))
    return 0


async def _api(settings: Settings) -> None:
    stop = _stop_on_signals()
    pool = create_pool(settings.database_url, min_size=2, max_size=10, name="api")
    await pool.open(wait=True)
    try:
        app = create_app(database_url=settings.database_url, pool=pool)
        api = ApiServer(uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_level="info"))
        channels = configured_channels(
            smtp_host=settings.survey_smtp_host, smtp_port=settings.survey_smtp_port, sender=settings.survey_smtp_from,
            webhook_url=settings.survey_webhook_url,
        )
        public_url = settings.survey_public_url or f"http://{settings.api_host}:{settings.api_port}"
        surveys = asyncio.create_task(run_survey_job(pool, stop=stop, channels=channels, public_url=public_url))
        serving = asyncio.create_task(api.serve())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        api.should_exit = True
        await asyncio.gather(serving, surveys, stopping, return_exceptions=True)
    finally:
        await pool.close()


def run_mail(settings: Settings) -> int:
    """The SMTP server that turns inbound e-mail into service requests."""
    if not _require(settings, "database_url"):
        return 2
    asyncio.run(_mail(settings))
    return 0


async def _mail(settings: Settings) -> None:
    stop = _stop_on_signals()
    server = mail_server(settings.database_url, host=settings.smtp_host, port=settings.smtp_port)
    await asyncio.to_thread(server.start)
    try:
        print(f"service mail on smtp://{server.hostname}:{server.port}", flush=True)
        await stop.wait()
    finally:
        await asyncio.to_thread(server.stop)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
