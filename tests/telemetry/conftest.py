"""The telemetry store's tests run on both back-ends: native PostgreSQL partitions and TimescaleDB.

A test about one back-end's own machinery says so with ``@pytest.mark.backends("timescaledb")``.
"""

from __future__ import annotations

import pytest

BACKENDS = ("postgresql", "timescaledb")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("db_url", marker.args if marker else BACKENDS, indirect=True)


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("pg_db_url" if request.param == "postgresql" else "timescale_db_url")
