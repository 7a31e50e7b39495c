-- depends: 0001.telemetry-devices
-- Fault codes a device reports itself (fleet/{site}/{asset}/faults). A redelivered or resent fault adds
-- nothing: it is the same asset, instant and code.
create table telemetry.device_faults (
    id          bigint generated always as identity primary key,
    asset_id    text not null references telemetry.devices (asset_id),
    ts          timestamptz not null,
    code        text not null check (code ~ '^[A-Za-z0-9_.:\-]{1,32}$'),
    severity    text not null check (severity in ('info', 'warning', 'critical')),
    message     text check (length(message) <= 2000),
    received_at timestamptz not null default now(),
    constraint device_faults_asset_ts_code_key unique (asset_id, ts, code)
);

create index device_faults_asset_ts on telemetry.device_faults (asset_id, ts desc);
