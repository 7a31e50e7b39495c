-- depends: 0001.telemetry-devices
-- Every message the gateway could not accept, with the reason; nothing is dropped silently.
create schema if not exists gateway;

create table gateway.dead_letters (
    id           bigint generated always as identity primary key,
    received_at  timestamptz not null default now(),
    topic        text not null,
    payload      bytea not null,
    payload_size integer not null,
    truncated    boolean not null default false,
    reason       text not null
);

create index dead_letters_received_at on gateway.dead_letters (received_at);
