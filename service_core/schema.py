"""The database schema: every package's yoyo migrations, applied in data-flow order."""

from __future__ import annotations

from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from yoyo import get_backend, read_migrations

_ROOT = Path(__file__).resolve().parent.parent
MIGRATION_DIRS = [
    _ROOT / "telemetry" / "migrations",
    _ROOT / "gateway" / "migrations",
    _ROOT / "maintenance" / "migrations",
    _ROOT / "service_core" / "migrations",
]


def yoyo_url(database_url: str) -> str:
    """yoyo names its psycopg 3 backend ``postgresql+psycopg``."""
    params = conninfo_to_dict(database_url)
    user = params.get("user", "postgres")
    password = f":{params['password']}" if params.get("password") else ""
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{params.get('dbname', 'postgres')}"


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
    params = conninfo_to_dict(database_url)
    params["dbname"] = dbname
    return make_conninfo(**params)
