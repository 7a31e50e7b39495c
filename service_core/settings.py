"""fleetcare's settings, read from ``FLEETCARE_*`` environment variables once, at start-up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from telemetry.storage import StoragePolicy


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("fleetcare")


class Settings(BaseSettings):
    """Unset ``database_url`` / ``mqtt_url`` mean: start the embedded PostgreSQL / amqtt broker."""

    model_config = SettingsConfigDict(env_prefix="FLEETCARE_", extra="ignore")

    database_url: str | None = None
    mqtt_url: str | None = None
    mqtt5: bool | None = Field(default=None, description="MQTT v5 to the broker; default: yes for an external broker")
    data_dir: Path = Field(default_factory=_default_data_dir)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    topic_root: str = "fleet"
    gateway_client_id: str = "fleetcare-gateway"
    gateway_shared_group: str | None = None
    gateway_metrics_port: int = Field(
        default=9108, description="the gateway's /health and /metrics, on FLEETCARE_API_HOST; a free port if taken"
    )
    gateway_spool_mb: float = Field(
        default=512.0, ge=0, description="disk the gateway may fill with batches while PostgreSQL is away, under "
        "FLEETCARE_DATA_DIR/spool; 0: no spool (the broker holds them)",
    )
    dead_letter_keep_rows: int = Field(default=1_000_000, ge=0, description="newest dead letters kept")
    dead_letter_keep_days: float = Field(default=30.0, ge=0, description="dead letters kept this long; 0: any age")
    detection: bool = Field(
        default=True, description="`fleetcare gateway` scores what it stores; false: ingest only (detection elsewhere)"
    )
    detector_processes: int = Field(
        default=1, ge=0, description="`fleetcare gateway`'s detector processes, each owning a share of the assets; "
        "0: the detector runs in the gateway's own process",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, description="inbound e-mail to service requests; a free port if taken")
    survey_smtp_host: str | None = Field(default=None, description="SMTP server for survey e-mail; unset: none sent")
    survey_smtp_port: int = 25
    survey_smtp_from: str = Field(default="service@fleetcare.example", description="sender of survey e-mail")
    survey_webhook_url: str | None = Field(default=None, description="POST surveys as JSON here (no e-mail, or none)")
    survey_public_url: str | None = Field(
        default=None, description="base of the survey links customers open; default: the API's own address"
    )

    telemetry_readings_per_s: float = Field(
        default=1000.0, gt=0, description="expected readings (metric values) per second: sizes TimescaleDB's chunks"
    )
    telemetry_compress_after_days: float = Field(default=7.0, gt=0, description="TimescaleDB compresses older chunks")
    telemetry_raw_retention_days: float = Field(default=90.0, ge=0, description="raw readings kept; 0: for ever")
    telemetry_minute_rollup_retention_days: float = Field(default=365.0, ge=0, description="1-minute rollups kept")
    telemetry_hour_rollup_retention_days: float = Field(default=0.0, ge=0, description="1-hour rollups kept")

    def gateway_spool(self, client_id: str) -> dict:
        """The gateway worker's spool settings (``GatewayConfig``'s ``spool_dir`` and ``spool_max_bytes``)."""
        if not self.gateway_spool_mb:
            return {"spool_dir": None}
        return {"spool_dir": self.data_dir / "spool" / client_id, "spool_max_bytes": int(self.gateway_spool_mb * 2**20)}

    def dead_letter_retention(self) -> dict:
        """``gateway.housekeeping.run_dead_letter_job``'s ``keep_rows`` and ``keep_for``."""
        keep_for = timedelta(days=self.dead_letter_keep_days) if self.dead_letter_keep_days else None
        return {"keep_rows": self.dead_letter_keep_rows, "keep_for": keep_for}

    def storage_policy(self) -> StoragePolicy:
        """How readings are kept (``telemetry.storage``); a retention of 0 days keeps for ever."""

        def days(value: float) -> timedelta | None:
            return timedelta(days=value) if value else None

        return StoragePolicy(
            readings_per_s=self.telemetry_readings_per_s,
            compress_after=timedelta(days=self.telemetry_compress_after_days),
            raw_retention=days(self.telemetry_raw_retention_days),
            minute_rollup_retention=days(self.telemetry_minute_rollup_retention_days),
            hour_rollup_retention=days(self.telemetry_hour_rollup_retention_days),
        )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("FLEETCARE_DATABASE_URL must be a postgresql://user@host:port/dbname URL")
        return value

    @field_validator("survey_webhook_url", "survey_public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mqtt://", "tcp://")):
            raise ValueError("FLEETCARE_MQTT_URL must be an mqtt://host:port URL")
        return value
