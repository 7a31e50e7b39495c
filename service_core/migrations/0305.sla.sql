-- depends: 0302.service-lifecycle-base
-- Service levels: business calendars, SLA policies per contract level, order type and priority,
-- escalation rules a manager edits as data, the supervisors they notify, and the record of what fired.

-- A calendar's working hours are in its own time zone; the zone is checked by the API (Python's zoneinfo).
create table service.sla_calendars (
    id         bigint generated always as identity primary key,
    name       text not null unique check (length(btrim(name)) between 1 and 200),
    timezone   text not null check (length(timezone) between 1 and 64),
    created_at timestamptz not null default now()
);

-- One working window per ISO weekday, in minutes after local midnight (1440 = the end of the day).
create table service.sla_calendar_hours (
    id          bigint generated always as identity primary key,
    calendar_id bigint not null references service.sla_calendars (id) on delete cascade,
    weekday     smallint not null check (weekday between 1 and 7),
    opens_min   smallint not null check (opens_min between 0 and 1439),
    closes_min  smallint not null check (closes_min between 1 and 1440),
    constraint sla_calendar_hours_day unique (calendar_id, weekday),
    constraint sla_calendar_hours_order check (closes_min > opens_min)
);

create table service.sla_holidays (
    id          bigint generated always as identity primary key,
    calendar_id bigint not null references service.sla_calendars (id) on delete cascade,
    day         date not null,
    name        text not null check (length(btrim(name)) between 1 and 200),
    constraint sla_holidays_day unique (calendar_id, day)
);

-- A policy applies to the orders it matches; null matches anything (a null contract level also matches
-- a customer without an active contract). The most specific match wins: order type, then contract
-- level, then priority (service_core.sla.policies.select_policy).
create table service.sla_policies (
    id                 bigint generated always as identity primary key,
    name               text not null unique check (length(btrim(name)) between 1 and 200),
    calendar_id        bigint not null references service.sla_calendars (id),
    contract_level     text check (contract_level in ('basic', 'standard', 'premium')),
    order_type         text check (order_type in ('preventive', 'repair', 'installation', 'inspection', 'complaint')),
    priority           text check (priority in ('low', 'normal', 'high', 'urgent')),
    -- business minutes; null: the metric is not tracked under this policy
    response_minutes   integer check (response_minutes > 0),
    arrival_minutes    integer check (arrival_minutes > 0),
    resolution_minutes integer check (resolution_minutes > 0),
    -- the clock stops in these statuses, and in on_hold for these hold reasons
    pause_statuses     text[] not null default '{}'
                       check (pause_statuses <@ '{new,assigned,accepted,en_route,on_site,in_progress,on_hold}'),
    pause_hold_reasons text[] not null default '{waiting_customer}'
                       check (pause_hold_reasons <@ '{waiting_parts,waiting_customer,waiting_approval,other}'),
    warn_at_share      numeric(4, 3) not null default 0.8 check (warn_at_share > 0 and warn_at_share < 1),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);

-- Two policies matching exactly the same orders would make the choice arbitrary.
create unique index sla_policies_one_per_match on service.sla_policies
    (coalesce(contract_level, '*'), coalesce(order_type, '*'), coalesce(priority, '*'));

-- Who an escalation reaches: per region and support line.
create table service.supervisors (
    id           bigint generated always as identity primary key,
    name         text not null check (length(btrim(name)) between 1 and 200),
    email        text not null check (email ~ '^[^@\s]+@[^@\s]+$'),
    region       text not null check (length(btrim(region)) between 1 and 100),
    support_line smallint not null default 1 check (support_line in (1, 2)),
    active       boolean not null default true,
    created_at   timestamptz not null default now()
);

create index supervisors_region on service.supervisors (region, support_line) where active;

-- "When <condition>, for orders in <scope>, do <action>", once per order.
create table service.sla_escalation_rules (
    id           bigint generated always as identity primary key,
    name         text not null unique check (length(btrim(name)) between 1 and 200),
    condition    text not null check (condition in ('sla_share', 'no_response_for', 'not_resolved_for')),
    metric       text check (metric in ('response', 'arrival', 'resolution')),
    share        numeric(5, 3) check (share > 0 and share <= 10),
    hours        numeric(8, 2) check (hours > 0),
    clock        text not null default 'wall' check (clock in ('wall', 'business')),
    order_type   text check (order_type in ('preventive', 'repair', 'installation', 'inspection', 'complaint')),
    priority     text check (priority in ('low', 'normal', 'high', 'urgent')),
    region       text check (length(btrim(region)) between 1 and 100),
    action       text not null check (action in ('notify_supervisor', 'raise_priority', 'escalate_line')),
    active       boolean not null default true,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    constraint sla_escalation_rules_condition check (
        case condition
            when 'sla_share' then metric is not null and share is not null and hours is null
            else metric is null and share is null and hours is not null
        end)
);

-- Each rule fires once per order: the unique key decides, whoever evaluates at the same moment.
create table service.sla_rule_firings (
    id            bigint generated always as identity primary key,
    rule_id       bigint not null references service.sla_escalation_rules (id) on delete cascade,
    work_order_id bigint not null references service.work_orders (id),
    fired_at      timestamptz not null default now(),
    details       jsonb,
    constraint sla_rule_firings_once unique (rule_id, work_order_id)
);

create index sla_rule_firings_order on service.sla_rule_firings (work_order_id);

-- A clock's warning and breach are each recorded once per order (and as sla_warning / sla_breached events).
create table service.sla_crossings (
    work_order_id bigint not null references service.work_orders (id),
    metric        text not null check (metric in ('response', 'arrival', 'resolution')),
    level         text not null check (level in ('warning', 'breached')),
    at            timestamptz not null default now(),
    primary key (work_order_id, metric, level)
);

create function service.sla_touch() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end $$;

create trigger sla_policies_touch before update on service.sla_policies
    for each row execute function service.sla_touch();
create trigger sla_escalation_rules_touch before update on service.sla_escalation_rules
    for each row execute function service.sla_touch();

-- A manager's changes to what the service promises are audited like the orders themselves.
create trigger sla_calendars_audit after insert or update or delete on service.sla_calendars
    for each row execute function service.audit_row();
create trigger sla_calendar_hours_audit after insert or update or delete on service.sla_calendar_hours
    for each row execute function service.audit_row();
create trigger sla_holidays_audit after insert or update or delete on service.sla_holidays
    for each row execute function service.audit_row();
create trigger sla_policies_audit after insert or update or delete on service.sla_policies
    for each row execute function service.audit_row();
create trigger supervisors_audit after insert or update or delete on service.supervisors
    for each row execute function service.audit_row();
create trigger sla_escalation_rules_audit after insert or update or delete on service.sla_escalation_rules
    for each row execute function service.audit_row();

-- Defaults, changed through /sla/... without code.
do $$ begin perform set_config('fleetcare.actor', 'migration', true); end $$;

insert into service.sla_calendars (name, timezone) values ('Business hours', 'UTC'), ('Around the clock', 'UTC');

insert into service.sla_calendar_hours (calendar_id, weekday, opens_min, closes_min)
select c.id, d, 480, 1020 from service.sla_calendars c, generate_series(1, 5) d where c.name = 'Business hours'
union all
select c.id, d, 0, 1440 from service.sla_calendars c, generate_series(1, 7) d where c.name = 'Around the clock';

-- Business minutes: a working day of the business calendar is 540.
insert into service.sla_policies
       (name, calendar_id, contract_level, order_type, priority, response_minutes, arrival_minutes, resolution_minutes)
select p.name, c.id, p.contract_level, p.order_type, p.priority, p.response, p.arrival, p.resolution
  from (values
        ('Default, low',        'Business hours',   null,      null,        'low',    1080, 2700, 5400),
        ('Default, normal',     'Business hours',   null,      null,        'normal',  480, 1620, 2700),
        ('Default, high',       'Business hours',   null,      null,        'high',    240,  540, 1620),
        ('Default, urgent',     'Business hours',   null,      null,        'urgent',   60,  240,  540),
        ('Premium, low',        'Business hours',   'premium', null,        'low',     480, 1620, 2700),
        ('Premium, normal',     'Business hours',   'premium', null,        'normal',  240,  540, 1620),
        ('Premium, high',       'Business hours',   'premium', null,        'high',    120,  480, 1080),
        ('Premium, urgent',     'Around the clock', 'premium', null,        'urgent',   30,  240,  480),
        -- complaints: a quicker answer and resolution; an arrival on site is not always needed
        ('Complaint, low',      'Business hours',   null,      'complaint', 'low',     240, null, 2700),
        ('Complaint, normal',   'Business hours',   null,      'complaint', 'normal',  120, null, 1620),
        ('Complaint, high',     'Business hours',   null,      'complaint', 'high',     60, null, 1080),
        ('Complaint, urgent',   'Business hours',   null,      'complaint', 'urgent',   30, null,  540)
       ) as p (name, calendar, contract_level, order_type, priority, response, arrival, resolution)
  join service.sla_calendars c on c.name = p.calendar;

insert into service.sla_escalation_rules (name, condition, metric, share, hours, clock, order_type, action) values
    ('Warn the supervisor at 80 % of the response time', 'sla_share', 'response', 0.8, null, 'wall', null,
     'notify_supervisor'),
    ('Raise the priority when the resolution time is breached', 'sla_share', 'resolution', 1.0, null, 'wall', null,
     'raise_priority'),
    ('No response for 24 h: notify the supervisor', 'no_response_for', null, null, 24, 'wall', null,
     'notify_supervisor'),
    ('A complaint at risk of a late response goes to second-line support', 'sla_share', 'response', 0.8, null,
     'wall', 'complaint', 'escalate_line');
