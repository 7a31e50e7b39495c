-- depends: 0101.gateway-dead-letters 0201.maintenance-monitoring
-- After-sales service: customers, sites, assets, engineers, work orders and the notification outbox.
create schema if not exists service;

create table service.customers (
    id         bigint generated always as identity primary key,
    name       text not null check (length(btrim(name)) between 1 and 200),
    email      text,
    phone      text,
    created_at timestamptz not null default now()
);

-- A site's code appears in device topics (fleet/{site}/{asset}/...) and in telemetry.devices.site_id.
create table service.sites (
    id          bigint generated always as identity primary key,
    customer_id bigint not null references service.customers (id),
    code        text not null unique check (code ~ '^[A-Za-z0-9_.\-]{1,64}$'),
    name        text not null check (length(btrim(name)) between 1 and 200),
    address     text,
    region      text not null check (length(btrim(region)) between 1 and 100),
    lat         double precision not null check (lat between -90 and 90),
    lon         double precision not null check (lon between -180 and 180),
    created_at  timestamptz not null default now()
);

create index sites_customer on service.sites (customer_id);

-- An asset is only ever created together with its telemetry device (same transaction).
create table service.assets (
    id               text primary key check (id ~ '^[A-Za-z0-9_.\-]{1,64}$')
                     references telemetry.devices (asset_id),
    site_id          bigint not null references service.sites (id),
    model            text not null check (length(btrim(model)) between 1 and 64),
    serial           text not null check (length(btrim(serial)) between 1 and 64),
    location         text,
    installed_on     date,
    warranty_ends_on date,
    created_at       timestamptz not null default now(),
    constraint assets_model_serial_key unique (model, serial),
    constraint assets_warranty_after_install
        check (warranty_ends_on is null or installed_on is null or warranty_ends_on >= installed_on)
);

create index assets_site on service.assets (site_id);

create table service.engineers (
    id         bigint generated always as identity primary key,
    name       text not null check (length(btrim(name)) between 1 and 200),
    email      text unique,
    phone      text,
    home_lat   double precision not null check (home_lat between -90 and 90),
    home_lon   double precision not null check (home_lon between -180 and 180),
    -- ISO days of the week, 1 = Monday .. 7 = Sunday, in the engineer's own time zone
    work_days  smallint[] not null default '{1,2,3,4,5}'
               check (cardinality(work_days) between 1 and 7 and work_days <@ '{1,2,3,4,5,6,7}'::smallint[]),
    work_start time not null default '08:00',
    work_end   time not null default '17:00',
    timezone   text not null default 'UTC',
    active     boolean not null default true,
    created_at timestamptz not null default now(),
    constraint engineers_shift_order check (work_end > work_start)
);

create table service.engineer_skills (
    engineer_id bigint not null references service.engineers (id) on delete cascade,
    skill       text not null check (skill in ('mechanical', 'electrical', 'hydraulic', 'controls')),
    level       smallint not null check (level between 1 and 5),
    primary key (engineer_id, skill)
);

-- The work-order state machine, mirrored from service_core.workorders.states (a test keeps them equal).
create table service.work_order_transitions (
    from_status text not null,
    to_status   text not null,
    primary key (from_status, to_status)
);

insert into service.work_order_transitions (from_status, to_status) values
    ('new', 'assigned'), ('new', 'on_hold'), ('new', 'cancelled'),
    ('assigned', 'accepted'), ('assigned', 'on_hold'), ('assigned', 'cancelled'),
    ('accepted', 'en_route'), ('accepted', 'on_hold'), ('accepted', 'cancelled'),
    ('en_route', 'on_site'), ('en_route', 'on_hold'), ('en_route', 'cancelled'),
    ('on_site', 'in_progress'), ('on_site', 'on_hold'), ('on_site', 'cancelled'),
    ('in_progress', 'completed'), ('in_progress', 'on_hold'),
    ('on_hold', 'assigned'), ('on_hold', 'in_progress'), ('on_hold', 'cancelled'),
    ('completed', 'closed');

create table service.work_orders (
    id          bigint generated always as identity primary key,
    asset_id    text not null references service.assets (id),
    type        text not null check (type in ('preventive', 'corrective', 'inspection')),
    status      text not null default 'new'
                check (status in ('new', 'assigned', 'accepted', 'en_route', 'on_site', 'in_progress',
                                  'completed', 'closed', 'on_hold', 'cancelled')),
    priority    text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
    failure_mode text check (failure_mode in ('bearing_wear', 'cavitation', 'overheating', 'seal_leak',
                                              'imbalance', 'blockage', 'unknown')),
    title       text not null check (length(btrim(title)) between 1 and 200),
    description text,
    engineer_id bigint references service.engineers (id),
    alert_id    bigint references maintenance.alerts (id),
    evidence    jsonb,
    due_at      timestamptz,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    constraint work_orders_preventive_failure_mode check (type <> 'preventive' or failure_mode is not null),
    constraint work_orders_engineer_when_dispatched
        check (status in ('new', 'on_hold', 'cancelled') or engineer_id is not null)
);

-- At most one open preventive order per asset and failure mode, whoever tries to open a second one.
create unique index work_orders_one_open_preventive on service.work_orders (asset_id, failure_mode)
    where type = 'preventive' and status not in ('completed', 'closed', 'cancelled');

create index work_orders_engineer on service.work_orders (engineer_id, status);
create index work_orders_asset on service.work_orders (asset_id, status);

create function service.check_work_order_transition() returns trigger
language plpgsql as $$
begin
    if new.status is distinct from old.status then
        if not exists (select 1 from service.work_order_transitions t
                        where t.from_status = old.status and t.to_status = new.status) then
            raise exception 'illegal work order transition % -> %', old.status, new.status
                using errcode = 'check_violation', constraint = 'work_orders_legal_transition';
        end if;
    end if;
    new.updated_at := now();
    return new;
end $$;

create trigger work_orders_transition before update on service.work_orders
    for each row execute function service.check_work_order_transition();

-- Every change of a work order: who did what, when.
create table service.work_order_events (
    id            bigint generated always as identity primary key,
    work_order_id bigint not null references service.work_orders (id),
    at            timestamptz not null default clock_timestamp(),
    actor         text not null check (length(btrim(actor)) between 1 and 128),
    kind          text not null check (kind in ('created', 'transition', 'assigned')),
    from_status   text,
    to_status     text not null,
    engineer_id   bigint references service.engineers (id),
    note          text,
    details       jsonb
);

create index work_order_events_order on service.work_order_events (work_order_id, id);

-- Outbox: rows written in the business transaction, published to MQTT afterwards.
create table service.notifications (
    id         bigint generated always as identity primary key,
    topic      text not null check (length(topic) between 1 and 256 and topic !~ '[+#]'),
    payload    jsonb not null,
    created_at timestamptz not null default now(),
    sent_at    timestamptz
);

create index notifications_unsent on service.notifications (id) where sent_at is null;

-- Wake the publisher when the inserting transaction commits.
create function service.notify_outbox() returns trigger
language plpgsql as $$
begin
    perform pg_notify('service_notifications', '');
    return null;
end $$;

create trigger notifications_wake after insert on service.notifications
    for each statement execute function service.notify_outbox();
