-- Device registry and the storage decision record.
create schema if not exists telemetry;

create table telemetry.storage (
    key        text primary key,
    value      text not null,
    decided_at timestamptz not null default now()
);

-- One row per provisioned asset that may publish telemetry.
create table telemetry.devices (
    asset_id              text primary key check (asset_id ~ '^[A-Za-z0-9_.\-]{1,64}$'),
    site_id               text not null check (site_id ~ '^[A-Za-z0-9_.\-]{1,64}$'),
    model                 text not null,
    expected_interval_s   double precision not null default 1.0 check (expected_interval_s > 0),
    provisioned           boolean not null default true,
    connection            text not null default 'unknown'
                          check (connection in ('unknown', 'online', 'offline', 'stale')),
    connection_changed_at timestamptz,
    last_seen             timestamptz,
    last_seq              bigint
);
