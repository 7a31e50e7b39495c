-- depends: 0307.service-parts-dispatch-base
-- Preventive maintenance plans: what to do on an asset (or every asset of a model), when (a calendar, a
-- meter derived from telemetry, or the detector's alerts), and each occurrence the scheduler generated or
-- missed. One row per plan, asset and occurrence key, so two schedulers at once still generate one order.

create table service.maintenance_plans (
    id               bigint generated always as identity primary key,
    name             text not null check (length(btrim(name)) between 1 and 200),
    -- a plan covers one asset or every asset of one model
    asset_id         text references service.assets (id),
    asset_model      text check (length(btrim(asset_model)) between 1 and 64),
    order_type       text not null check (order_type in ('inspection', 'preventive')),
    failure_mode     text check (failure_mode in ('bearing_wear', 'cavitation', 'overheating', 'seal_leak',
                                                  'imbalance', 'blockage', 'unknown')),
    priority         text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
    trigger          text not null check (trigger in ('fixed', 'floating', 'meter', 'condition')),
    -- calendar: every interval_days from start_at (fixed), or interval_days after the last completion (floating)
    interval_days    integer check (interval_days between 1 and 3650),
    start_at         timestamptz,
    -- meter: run hours (time with metric > running_above) or cycles (stopped -> running), every meter_interval
    meter_kind       text check (meter_kind in ('run_hours', 'cycles')),
    meter_metric     text check (meter_metric ~ '^[a-z][a-z0-9_]{0,63}$'),
    running_above    double precision,
    meter_interval   double precision check (meter_interval > 0),
    -- an order is generated lead_days before its occurrence; its window runs window_days from the occurrence
    lead_days        integer not null default 7 check (lead_days between 0 and 365),
    window_days      integer not null default 7 check (window_days between 1 and 365),
    duration_minutes integer not null default 60 check (duration_minutes between 1 and 1440),
    active           boolean not null default true,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    constraint maintenance_plans_one_target check ((asset_id is null) <> (asset_model is null)),
    constraint maintenance_plans_failure_mode
        check ((order_type <> 'preventive' and trigger <> 'condition') or failure_mode is not null),
    constraint maintenance_plans_calendar
        check ((trigger in ('fixed', 'floating')) = (interval_days is not null and start_at is not null)),
    constraint maintenance_plans_meter
        check ((trigger = 'meter') = (meter_kind is not null and meter_metric is not null
                                      and running_above is not null and meter_interval is not null))
);

create index maintenance_plans_asset on service.maintenance_plans (asset_id) where asset_id is not null;
create index maintenance_plans_model on service.maintenance_plans (asset_model) where asset_model is not null;

create trigger maintenance_plans_audit after insert or update or delete on service.maintenance_plans
    for each row execute function service.audit_row();

create function service.touch_maintenance_plan() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end $$;

create trigger maintenance_plans_touch before update on service.maintenance_plans
    for each row execute function service.touch_maintenance_plan();

-- What a generated (or enriched) order inherits: checklist items, parts and required skills.
create table service.maintenance_plan_items (
    id       bigint generated always as identity primary key,
    plan_id  bigint not null references service.maintenance_plans (id) on delete cascade,
    position smallint not null check (position between 1 and 100),
    label    text not null check (length(btrim(label)) between 1 and 200),
    required boolean not null default true,
    constraint maintenance_plan_items_position unique (plan_id, position)
);

create table service.maintenance_plan_parts (
    id          bigint generated always as identity primary key,
    plan_id     bigint not null references service.maintenance_plans (id) on delete cascade,
    part_number text not null references service.parts (part_number),
    quantity    numeric(10, 3) not null check (quantity > 0),
    constraint maintenance_plan_parts_once unique (plan_id, part_number)
);

create table service.maintenance_plan_skills (
    id        bigint generated always as identity primary key,
    plan_id   bigint not null references service.maintenance_plans (id) on delete cascade,
    skill     text not null check (skill in ('mechanical', 'electrical', 'hydraulic', 'controls')),
    min_level smallint not null default 1 check (min_level between 1 and 5),
    constraint maintenance_plan_skills_once unique (plan_id, skill)
);

create trigger maintenance_plan_items_audit after insert or update or delete on service.maintenance_plan_items
    for each row execute function service.audit_row();
create trigger maintenance_plan_parts_audit after insert or update or delete on service.maintenance_plan_parts
    for each row execute function service.audit_row();
create trigger maintenance_plan_skills_audit after insert or update or delete on service.maintenance_plan_skills
    for each row execute function service.audit_row();

-- Every occurrence of a plan on an asset that the scheduler (or the detector, for condition plans) acted on:
-- generated, with its order, or missed, with the reason. The unique key is what makes generation
-- idempotent: the scheduler claims the row (insert ... on conflict do nothing) before it opens the order.
create table service.plan_occurrences (
    id                     bigint generated always as identity primary key,
    plan_id                bigint not null references service.maintenance_plans (id),
    asset_id               text not null references service.assets (id),
    occurrence_key         text not null check (length(occurrence_key) between 1 and 100),
    status                 text not null check (status in ('generated', 'missed')),
    due_at                 timestamptz not null,
    window_start           timestamptz,
    window_end             timestamptz,
    meter_value            double precision,
    work_order_id          bigint references service.work_orders (id),
    -- window_passed: nobody ran the scheduler while it could be generated; previous_order_open: the plan's
    -- last order on the asset was still open when this one was due; order_already_open: the asset already
    -- had an open preventive order for the failure mode
    reason                 text check (reason in ('window_passed', 'previous_order_open', 'order_already_open')),
    blocking_work_order_id bigint references service.work_orders (id),
    recorded_by            text not null check (length(btrim(recorded_by)) between 1 and 128),
    recorded_at            timestamptz not null default clock_timestamp(),
    constraint plan_occurrences_once unique (plan_id, asset_id, occurrence_key),
    constraint plan_occurrences_missed_has_reason check ((status = 'missed') = (reason is not null)),
    constraint plan_occurrences_missed_has_no_order check (status = 'generated' or work_order_id is null)
);

create index plan_occurrences_order on service.plan_occurrences (work_order_id) where work_order_id is not null;

-- Meters derived from telemetry, advanced incrementally by the scheduler up to computed_until (the last
-- reading counted); running is the state at that reading, so the next run counts on from there.
create table service.asset_meters (
    asset_id       text not null references service.assets (id),
    kind           text not null check (kind in ('run_hours', 'cycles')),
    metric         text not null check (metric ~ '^[a-z][a-z0-9_]{0,63}$'),
    running_above  double precision not null,
    value          double precision not null default 0 check (value >= 0),
    running        boolean,
    computed_until timestamptz,
    updated_at     timestamptz not null default now(),
    primary key (asset_id, kind, metric, running_above)
);
