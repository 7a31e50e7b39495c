"""The database schema: every package's yoyo migrations, applied in data-flow order."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

_ROOT = Path(__file__).resolve().parent.parent
MIGRATION_DIRS = [
    _ROOT / "telemetry" / "migrations",
    _ROOT / "gateway" / "migrations",
    _ROOT / "maintenance" / "migrations",
    _ROOT / "service_core" / "migrations",
]


def _url(params: dict, scheme: str = "postgresql") -> str:
    user = quote(str(params.get("user", "postgres")), safe="")
    password = f":{quote(str(params['password']), safe='')}" if params.get("password") else ""
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"{scheme}://{user}{password}@{host}:{port}/{quote(str(params.get('dbname', 'postgres')), safe='')}"


def yoyo_url(database_url: str) -> str:
    """yoyo names its psycopg 3 backend ``postgresql+psycopg``."""
    return _url(conninfo_to_dict(database_url), "postgresql+psycopg")


def upgrade(database_url: str) -> list[str]:
    """Apply every pending migration; returns the ids applied."""
    backend = get_backend(yoyo_url(database_url))
    migrations = read_migrations(*(str(d) for d in MIGRATION_DIRS if any(d.glob("*.sql")) or any(d.glob("*.py"))))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    return [m.id for m in pending]


def with_database(database_url: str, dbname: str) -> str:
    """The same server, another database."""
    return _url({**conninfo_to_dict(database_url), "dbname": dbname})
