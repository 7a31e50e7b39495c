"""The telemetry store's tests run on both back-ends: native PostgreSQL partitions and TimescaleDB."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["postgresql", "timescaledb"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_db_url" if request.param == "postgresql" else "timescale_db_url")
