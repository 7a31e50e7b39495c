-- depends: 0301.service-core
-- What every after-sales area builds on: the order types a service desk uses, the fields an order
-- gathers on its way (hold reason, resolution, root cause, billing, support line), an audit of every
-- change with its before and after, attachments, and visits.

-- Order types: 'corrective' becomes the more precise 'repair'; installation and complaint join.
alter table service.work_orders drop constraint work_orders_type_check;
update service.work_orders set type = 'repair' where type = 'corrective';
alter table service.work_orders add constraint work_orders_type_check
    check (type in ('preventive', 'repair', 'installation', 'inspection', 'complaint'));

alter table service.work_orders
    add column hold_reason  text check (hold_reason in ('waiting_parts', 'waiting_customer', 'waiting_approval',
                                                         'other')),
    add column resolution   text check (length(resolution) <= 20000),
    add column root_cause   text check (length(root_cause) <= 5000),
    add column follow_up    text check (length(follow_up) <= 5000),
    add column billing      text check (billing in ('warranty', 'contract', 'billable')),
    add column support_line smallint not null default 1 check (support_line in (1, 2)),
    -- a code the device or the customer reported (E-042…), for triage and the knowledge base
    add column fault_code   text check (fault_code ~ '^[A-Za-z0-9_.:\-]{1,32}$');

-- A complaint is not done until someone has said why it happened and what follows.
alter table service.work_orders add constraint work_orders_complaint_root_cause
    check (type <> 'complaint' or status not in ('completed', 'closed')
           or (root_cause is not null and follow_up is not null));

-- Event kinds grow with the areas (visits, holds, SLA, escalation…); the shape stays checked.
alter table service.work_order_events drop constraint work_order_events_kind_check;
alter table service.work_order_events add constraint work_order_events_kind_check
    check (kind ~ '^[a-z][a-z_]{0,39}$');
-- a change that is not a status move keeps the status it happened in
create index work_order_events_kind on service.work_order_events (kind, at);

-- Who changed what, when, before and after: written by triggers, so no code path can skip it.
-- The actor is the transaction-local setting fleetcare.actor (service_core.audit.act_as sets it).
create table service.audit_log (
    id         bigint generated always as identity primary key,
    at         timestamptz not null default clock_timestamp(),
    actor      text not null,
    table_name text not null,
    row_id     text not null,
    action     text not null check (action in ('insert', 'update', 'delete')),
    before     jsonb,
    after      jsonb
);

create index audit_log_row on service.audit_log (table_name, row_id, id);

create function service.audit_row() returns trigger
language plpgsql as $$
declare
    old_doc jsonb := case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end;
    new_doc jsonb := case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end;
    before_doc jsonb;
    after_doc jsonb;
    actor text := coalesce(nullif(current_setting('fleetcare.actor', true), ''), session_user::text);
begin
    if tg_op = 'UPDATE' then
        -- only the columns that changed; updated_at alone is no change
        select jsonb_object_agg(o.key, o.value), jsonb_object_agg(o.key, new_doc -> o.key)
          into before_doc, after_doc
          from jsonb_each(old_doc) o
         where o.key <> 'updated_at' and o.value is distinct from new_doc -> o.key;
        if before_doc is null then
            return null;
        end if;
    else
        before_doc := old_doc;
        after_doc := new_doc;
    end if;
    insert into service.audit_log (actor, table_name, row_id, action, before, after)
    values (actor, tg_table_name, coalesce(new_doc ->> 'id', old_doc ->> 'id'), lower(tg_op), before_doc, after_doc);
    return null;
end $$;

create trigger work_orders_audit after insert or update or delete on service.work_orders
    for each row execute function service.audit_row();

-- Photos, files and signatures, on an order (and, from intake, on a service request).
create table service.attachments (
    id            bigint generated always as identity primary key,
    work_order_id bigint references service.work_orders (id),
    kind          text not null check (kind in ('photo', 'file', 'signature')),
    filename      text not null check (length(btrim(filename)) between 1 and 255),
    content_type  text not null check (content_type ~ '^[a-z0-9.+-]+/[a-zA-Z0-9.+-]+$'),
    size_bytes    integer not null check (size_bytes between 0 and 20971520),
    sha256        text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    content       bytea not null,
    uploaded_by   text not null check (length(btrim(uploaded_by)) between 1 and 128),
    uploaded_at   timestamptz not null default now(),
    constraint attachments_size_matches check (size_bytes = length(content))
);

create index attachments_work_order on service.attachments (work_order_id);

-- A visit is one trip of an engineer to the asset for an order; an order may need several.
create table service.visits (
    id             bigint generated always as identity primary key,
    work_order_id  bigint not null references service.work_orders (id),
    seq            smallint not null check (seq >= 1),
    engineer_id    bigint not null references service.engineers (id),
    status         text not null default 'planned'
                   check (status in ('planned', 'checked_in', 'checked_out', 'cancelled')),
    planned_at     timestamptz,
    check_in_at    timestamptz,
    check_in_lat   double precision check (check_in_lat between -90 and 90),
    check_in_lon   double precision check (check_in_lon between -180 and 180),
    check_out_at   timestamptz,
    check_out_lat  double precision check (check_out_lat between -90 and 90),
    check_out_lon  double precision check (check_out_lon between -180 and 180),
    -- what the visit achieved: fixed, or why another visit is needed
    outcome        text check (outcome in ('fixed', 'needs_parts', 'needs_follow_up', 'no_access', 'not_fixed')),
    labour_minutes integer check (labour_minutes between 0 and 10080),
    notes          text check (length(notes) <= 20000),
    created_at     timestamptz not null default now(),
    constraint visits_order_seq unique (work_order_id, seq),
    constraint visits_check_out_after_in check (check_out_at is null or check_out_at >= check_in_at),
    constraint visits_checked_in_has_time check (status in ('planned', 'cancelled') or check_in_at is not null),
    constraint visits_checked_out_has_outcome
        check (status <> 'checked_out' or (check_out_at is not null and outcome is not null))
);

create index visits_engineer on service.visits (engineer_id, check_in_at);

create trigger visits_audit after insert or update or delete on service.visits
    for each row execute function service.audit_row();

-- A customer's service contract: what it covers and, through the SLA policies, what it promises.
create table service.contracts (
    id           bigint generated always as identity primary key,
    customer_id  bigint not null references service.customers (id),
    name         text not null check (length(btrim(name)) between 1 and 200),
    level        text not null default 'standard' check (level in ('basic', 'standard', 'premium')),
    starts_on    date not null,
    ends_on      date not null,
    covers_labour boolean not null default true,
    covers_parts  boolean not null default false,
    created_at   timestamptz not null default now(),
    constraint contracts_period check (ends_on >= starts_on)
);

create index contracts_customer on service.contracts (customer_id, ends_on);

-- Parts fitted on an order (the record of the job; stock and its ledger are the parts area's).
create table service.parts_used (
    id            bigint generated always as identity primary key,
    work_order_id bigint not null references service.work_orders (id),
    visit_id      bigint references service.visits (id),
    part_number   text not null check (length(btrim(part_number)) between 1 and 64),
    description   text check (length(description) <= 500),
    quantity      numeric(10, 3) not null check (quantity > 0),
    unit_cost     numeric(12, 2) not null default 0 check (unit_cost >= 0),
    recorded_by   text not null check (length(btrim(recorded_by)) between 1 and 128),
    recorded_at   timestamptz not null default now()
);

create index parts_used_work_order on service.parts_used (work_order_id);
