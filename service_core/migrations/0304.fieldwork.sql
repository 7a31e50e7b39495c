-- depends: 0302.service-lifecycle-base
-- The order's life in the field: holds that say why, reopening within a window, visits tied to the order's
-- status, SOP checklists per order type, the customer's signature, parts, billing. The rules that must hold
-- whoever writes (one checked-in visit per order and per engineer, no completion with required checklist
-- items open or without a signature after a visit) live here, not only in Python.

-- The state machine grows two kinds of move: an engineer may check in without having said they were on their
-- way (accepted -> on_site), and a finished order may be reopened, which only POST .../reopen does within the
-- window (service_core.workorders.states.REOPEN and REOPEN_WINDOW mirror this; a test keeps them equal).
alter table service.work_order_transitions
    add column kind text not null default 'move' check (kind in ('move', 'reopen'));

insert into service.work_order_transitions (from_status, to_status, kind) values
    ('accepted', 'on_site', 'move'),
    ('completed', 'assigned', 'reopen'),
    ('closed', 'assigned', 'reopen');

create function service.reopen_window() returns interval
language sql immutable as $$ select interval '7 days' $$;

-- When an order was last completed: its latest move into 'completed' in the event log.
create function service.completed_at(p_work_order_id bigint) returns timestamptz
language sql stable as $$
    select max(e.at) from service.work_order_events e
     where e.work_order_id = p_work_order_id and e.to_status = 'completed'
       and e.from_status is distinct from 'completed'
$$;

-- A held order says why; leaving hold clears the reason (the transition trigger below does it).
update service.work_orders set hold_reason = 'other' where status = 'on_hold' and hold_reason is null;
update service.work_orders set hold_reason = null where status <> 'on_hold' and hold_reason is not null;
alter table service.work_orders add constraint work_orders_hold_reason
    check ((status = 'on_hold') = (hold_reason is not null));

create or replace function service.check_work_order_transition() returns trigger
language plpgsql as $$
declare
    move_kind text;
    completed timestamptz;
begin
    if new.status is distinct from old.status then
        select t.kind into move_kind from service.work_order_transitions t
         where t.from_status = old.status and t.to_status = new.status;
        if move_kind is null then
            raise exception 'illegal work order transition % -> %', old.status, new.status
                using errcode = 'check_violation', constraint = 'work_orders_legal_transition';
        end if;
        if move_kind = 'reopen' then
            completed := service.completed_at(old.id);
            if completed is null or completed < now() - service.reopen_window() then
                raise exception 'work order % was completed % ago, more than the % reopen window: open a new work order',
                    old.id, coalesce((now() - completed)::text, 'an unknown time'), service.reopen_window()
                    using errcode = 'check_violation', constraint = 'work_orders_reopen_window';
            end if;
        end if;
        if old.status = 'on_hold' then
            new.hold_reason := null;
        end if;
    end if;
    new.updated_at := now();
    return new;
end $$;

-- Visits: one checked in at a time per order and per engineer, whoever checks in concurrently.
alter table service.visits add constraint visits_id_order unique (id, work_order_id);
alter table service.visits add constraint visits_checked_out_has_labour
    check (status <> 'checked_out' or labour_minutes is not null);
create unique index visits_one_checked_in_per_order on service.visits (work_order_id) where status = 'checked_in';
create unique index visits_one_checked_in_per_engineer on service.visits (engineer_id) where status = 'checked_in';

-- A part fitted on a visit was fitted on that visit's order.
alter table service.parts_used add constraint parts_used_visit_of_order
    foreign key (visit_id, work_order_id) references service.visits (id, work_order_id);
create trigger parts_used_audit after insert or update or delete on service.parts_used
    for each row execute function service.audit_row();

-- SOP checklists: a template per order type, copied onto every order when it is created.
create table service.checklist_templates (
    id         bigint generated always as identity primary key,
    order_type text not null check (order_type in ('preventive', 'repair', 'installation', 'inspection', 'complaint')),
    position   smallint not null check (position between 1 and 100),
    label      text not null check (length(btrim(label)) between 1 and 200),
    required   boolean not null default true,
    constraint checklist_templates_position unique (order_type, position)
);

create trigger checklist_templates_audit after insert or update or delete on service.checklist_templates
    for each row execute function service.audit_row();

insert into service.checklist_templates (order_type, position, label, required) values
    ('repair', 1, 'Site risk assessment done and equipment isolated (lock-out/tag-out)', true),
    ('repair', 2, 'Fault confirmed and cause identified', true),
    ('repair', 3, 'Repair carried out with approved parts', true),
    ('repair', 4, 'Function test passed after restart', true),
    ('repair', 5, 'Work area cleaned, waste removed', false),
    ('installation', 1, 'Site risk assessment done', true),
    ('installation', 2, 'Foundation, alignment and anchoring checked', true),
    ('installation', 3, 'Electrical and hydraulic connections checked', true),
    ('installation', 4, 'Commissioning run passed and readings recorded', true),
    ('installation', 5, 'Device online and sending telemetry', true),
    ('installation', 6, 'Customer instructed in operation and safety', false),
    ('inspection', 1, 'Site risk assessment done', true),
    ('inspection', 2, 'Visual inspection: leaks, corrosion, guards', true),
    ('inspection', 3, 'Vibration and temperature measured', true),
    ('inspection', 4, 'Findings recorded with photos', false),
    ('preventive', 1, 'Site risk assessment done and equipment isolated (lock-out/tag-out)', true),
    ('preventive', 2, 'Detector evidence checked on site', true),
    ('preventive', 3, 'Worn parts replaced or condition recorded', true),
    ('preventive', 4, 'Lubrication and alignment done', false),
    ('preventive', 5, 'Function test passed after restart', true),
    ('complaint', 1, 'Customer''s complaint discussed on site', true),
    ('complaint', 2, 'Cause investigated and recorded', true),
    ('complaint', 3, 'Agreed remedy carried out or scheduled', true),
    ('complaint', 4, 'Customer informed of the follow-up', false);

create table service.checklist_items (
    id            bigint generated always as identity primary key,
    work_order_id bigint not null references service.work_orders (id),
    position      smallint not null,
    label         text not null,
    required      boolean not null,
    done          boolean not null default false,
    note          text check (length(note) <= 2000),
    done_by       text check (length(btrim(done_by)) between 1 and 128),
    done_at       timestamptz,
    constraint checklist_items_position unique (work_order_id, position),
    constraint checklist_items_done_by_whom check (done = (done_by is not null and done_at is not null))
);

-- Ticking and unticking are audited; the copy made with the order is not a change anyone made.
create trigger checklist_items_audit after update or delete on service.checklist_items
    for each row execute function service.audit_row();

create function service.instantiate_checklist() returns trigger
language plpgsql as $$
begin
    insert into service.checklist_items (work_order_id, position, label, required)
    select new.id, t.position, t.label, t.required
      from service.checklist_templates t
     where t.order_type = new.type;
    return null;
end $$;

create trigger work_orders_checklist after insert on service.work_orders
    for each row execute function service.instantiate_checklist();

insert into service.checklist_items (work_order_id, position, label, required)
select w.id, t.position, t.label, t.required
  from service.work_orders w join service.checklist_templates t on t.order_type = w.type;

-- The customer's signature (an image attachment with the signer's name), or why none could be taken.
alter table service.attachments add constraint attachments_id_order unique (id, work_order_id);

create table service.signatures (
    id                  bigint generated always as identity primary key,
    work_order_id       bigint not null references service.work_orders (id),
    attachment_id       bigint unique,
    signer_name         text check (length(btrim(signer_name)) between 1 and 200),
    no_signature_reason text check (length(btrim(no_signature_reason)) between 1 and 2000),
    recorded_by         text not null check (length(btrim(recorded_by)) between 1 and 128),
    recorded_at         timestamptz not null default now(),
    constraint signatures_image_of_order foreign key (attachment_id, work_order_id)
        references service.attachments (id, work_order_id),
    constraint signatures_signed_or_reason check (
        (attachment_id is not null and signer_name is not null and no_signature_reason is null)
        or (attachment_id is null and signer_name is null and no_signature_reason is not null))
);

create index signatures_work_order on service.signatures (work_order_id, recorded_at);

create trigger signatures_audit after insert or update or delete on service.signatures
    for each row execute function service.audit_row();

-- Who pays: the asset's warranty first, then the customer's contract that covers labour or parts, else billable.
create function service.default_billing(p_asset_id text, p_on date) returns text
language sql stable as $$
    select case
               when a.warranty_ends_on >= p_on then 'warranty'
               when exists (select 1 from service.contracts c
                             where c.customer_id = s.customer_id and p_on between c.starts_on and c.ends_on
                               and (c.covers_labour or c.covers_parts)) then 'contract'
               else 'billable'
           end
      from service.assets a join service.sites s on s.id = a.site_id
     where a.id = p_asset_id
$$;

-- Completing an order: no visit still checked in; after a visit, every required checklist item done and the
-- customer's signature (or the reason there is none) taken after the last check-in; billing set unless
-- someone set it by hand. An order finished without anyone on site is held to none of the on-site records.
create function service.check_work_order_completion() returns trigger
language plpgsql as $$
declare
    last_check_in timestamptz;
    missing text;
begin
    if new.status = 'completed' and old.status is distinct from 'completed' then
        if exists (select 1 from service.visits v where v.work_order_id = new.id and v.status = 'checked_in') then
            raise exception 'work order % has a visit still checked in: check out before completing', new.id
                using errcode = 'check_violation', constraint = 'work_orders_visits_checked_out';
        end if;
        select max(v.check_in_at) into last_check_in
          from service.visits v where v.work_order_id = new.id and v.status = 'checked_out';
        if last_check_in is not null then
            select string_agg(i.label, '; ' order by i.position) into missing
              from service.checklist_items i where i.work_order_id = new.id and i.required and not i.done;
            if missing is not null then
                raise exception 'work order % has required checklist items not done: %', new.id, missing
                    using errcode = 'check_violation', constraint = 'work_orders_checklist_done';
            end if;
            if not exists (select 1 from service.signatures s
                            where s.work_order_id = new.id and s.recorded_at >= last_check_in) then
                raise exception 'work order % needs the customer''s signature, or the reason none could be taken, '
                                'recorded after the last visit''s check-in', new.id
                    using errcode = 'check_violation', constraint = 'work_orders_signed';
            end if;
        end if;
        if new.billing is null then
            new.billing := service.default_billing(new.asset_id, current_date);
        end if;
    end if;
    return new;
end $$;

-- named to fire after work_orders_transition (before-triggers run in name order): legality first
create trigger work_orders_transition_complete before update of status on service.work_orders
    for each row execute function service.check_work_order_completion();
