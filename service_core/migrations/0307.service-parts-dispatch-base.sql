-- depends: 0304.fieldwork 0305.sla
-- What dispatch, spare parts, surveys and maintenance plans share: what an order needs (skills, parts,
-- a time window), where engineers may work, whom a customer prefers, and the stock ledger with the
-- invariants the database must hold under concurrency.

-- What an order needs from whoever takes it.
create table service.work_order_skills (
    work_order_id bigint not null references service.work_orders (id) on delete cascade,
    skill         text not null check (skill in ('mechanical', 'electrical', 'hydraulic', 'controls')),
    min_level     smallint not null default 1 check (min_level between 1 and 5),
    primary key (work_order_id, skill)
);

alter table service.work_orders
    add column window_start     timestamptz,
    add column window_end       timestamptz,
    add column duration_minutes integer not null default 60 check (duration_minutes between 1 and 1440),
    add constraint work_orders_window check (window_end is null or window_start is null or window_end > window_start);

-- Where an engineer may be sent; none: anywhere.
create table service.engineer_territories (
    engineer_id bigint not null references service.engineers (id) on delete cascade,
    region      text not null check (length(btrim(region)) between 1 and 100),
    primary key (engineer_id, region)
);

alter table service.customers
    add column preferred_engineer_id bigint references service.engineers (id);

-- Spare parts: the catalogue and which asset models each part fits.
create table service.parts (
    part_number text primary key check (part_number ~ '^[A-Za-z0-9_.\-]{1,64}$'),
    name        text not null check (length(btrim(name)) between 1 and 200),
    barcode     text unique check (length(btrim(barcode)) between 1 and 128),
    unit_cost   numeric(12, 2) not null default 0 check (unit_cost >= 0),
    created_at  timestamptz not null default now()
);

create table service.part_models (
    part_number text not null references service.parts (part_number) on delete cascade,
    asset_model text not null check (length(btrim(asset_model)) between 1 and 64),
    primary key (part_number, asset_model)
);

-- Parts an order needs (from a plan, a failure mode or the desk); reserved when the order is assigned.
create table service.work_order_parts (
    work_order_id bigint not null references service.work_orders (id) on delete cascade,
    part_number   text not null references service.parts (part_number),
    quantity      numeric(10, 3) not null check (quantity > 0),
    primary key (work_order_id, part_number)
);

-- Where stock is kept: the central warehouse, branches, and each engineer's van.
create table service.stock_locations (
    id          bigint generated always as identity primary key,
    kind        text not null check (kind in ('warehouse', 'branch', 'van')),
    name        text not null unique check (length(btrim(name)) between 1 and 200),
    engineer_id bigint unique references service.engineers (id),
    region      text,
    lat         double precision check (lat between -90 and 90),
    lon         double precision check (lon between -180 and 180),
    created_at  timestamptz not null default now(),
    constraint stock_locations_van_has_engineer check ((kind = 'van') = (engineer_id is not null))
);

-- The stock ledger: every movement in or out of a location, never updated or deleted.
create table service.stock_movements (
    id            bigint generated always as identity primary key,
    location_id   bigint not null references service.stock_locations (id),
    part_number   text not null references service.parts (part_number),
    quantity      numeric(12, 3) not null check (quantity <> 0),  -- + in, - out
    reason        text not null check (reason in ('receipt', 'consumption', 'return', 'transfer_out',
                                                   'transfer_in', 'adjustment')),
    work_order_id bigint references service.work_orders (id),
    reference     text,
    actor         text not null check (length(btrim(actor)) between 1 and 128),
    at            timestamptz not null default clock_timestamp()
);

create index stock_movements_location_part on service.stock_movements (location_id, part_number, id);
create index stock_movements_part_time on service.stock_movements (part_number, at);

-- Stock held for an order at a location until it is consumed or released.
create table service.stock_reservations (
    id            bigint generated always as identity primary key,
    location_id   bigint not null references service.stock_locations (id),
    part_number   text not null references service.parts (part_number),
    work_order_id bigint not null references service.work_orders (id),
    quantity      numeric(12, 3) not null check (quantity > 0),
    status        text not null default 'active' check (status in ('active', 'consumed', 'released')),
    created_at    timestamptz not null default now(),
    closed_at     timestamptz
);

create unique index stock_reservations_one_active
    on service.stock_reservations (work_order_id, part_number, location_id) where status = 'active';

-- On hand and reserved per location and part, kept by triggers in the writing transaction, so that
-- on_hand always equals the sum of the ledger and available (on_hand - reserved) is never negative:
-- the row lock serialises concurrent writers and the checks refuse what would break either rule.
create table service.stock_levels (
    location_id bigint not null references service.stock_locations (id),
    part_number text not null references service.parts (part_number),
    on_hand     numeric(12, 3) not null default 0,
    reserved    numeric(12, 3) not null default 0,
    primary key (location_id, part_number),
    constraint stock_levels_on_hand_not_negative check (on_hand >= 0),
    constraint stock_levels_reserved_not_negative check (reserved >= 0),
    constraint stock_levels_available_not_negative check (on_hand - reserved >= 0)
);

-- Update the level row (its lock serialises writers); the first movement of a part at a location inserts
-- it. Not "insert … on conflict do update": the checks would judge the inserted delta, not the new sum.
create function service.stock_adjust_level(location bigint, part text, on_hand_delta numeric, reserved_delta numeric)
returns void
language plpgsql as $$
begin
    loop
        update service.stock_levels
           set on_hand = on_hand + on_hand_delta, reserved = reserved + reserved_delta
         where location_id = location and part_number = part;
        if found then
            return;
        end if;
        begin
            insert into service.stock_levels (location_id, part_number, on_hand, reserved)
            values (location, part, on_hand_delta, reserved_delta);
            return;
        exception when unique_violation then
            -- another transaction inserted it first: update that row
        end;
    end loop;
end $$;

create function service.stock_apply_movement() returns trigger
language plpgsql as $$
begin
    perform service.stock_adjust_level(new.location_id, new.part_number, new.quantity, 0);
    return null;
end $$;

create trigger stock_movements_apply after insert on service.stock_movements
    for each row execute function service.stock_apply_movement();

create function service.stock_ledger_is_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'the stock ledger is append-only: record a correcting movement instead'
        using errcode = 'check_violation', constraint = 'stock_movements_append_only';
end $$;

create trigger stock_movements_append_only before update or delete on service.stock_movements
    for each row execute function service.stock_ledger_is_append_only();

create function service.stock_apply_reservation() returns trigger
language plpgsql as $$
declare
    delta numeric(12, 3) := 0;
begin
    if tg_op = 'DELETE' then
        if old.status = 'active' then
            perform service.stock_adjust_level(old.location_id, old.part_number, 0, -old.quantity);
        end if;
        return null;
    end if;
    if tg_op = 'INSERT' and new.status = 'active' then
        delta := new.quantity;
    elsif tg_op = 'UPDATE' then
        if new.location_id <> old.location_id or new.part_number <> old.part_number then
            raise exception 'a reservation cannot move: release it and reserve again'
                using errcode = 'check_violation', constraint = 'stock_reservations_fixed';
        end if;
        delta := (case when new.status = 'active' then new.quantity else 0 end)
               - (case when old.status = 'active' then old.quantity else 0 end);
    end if;
    if delta <> 0 then
        perform service.stock_adjust_level(new.location_id, new.part_number, 0, delta);
    end if;
    return null;
end $$;

create trigger stock_reservations_apply after insert or update or delete on service.stock_reservations
    for each row execute function service.stock_apply_reservation();

create trigger stock_reservations_audit after insert or update or delete on service.stock_reservations
    for each row execute function service.audit_row();

-- Stock moving between locations: requested, approved (by someone other than the requester), in
-- transit, received; an approved or in-transit transfer into a van counts for dispatch when it is
-- expected there before the visit.
create table service.stock_transfers (
    id               bigint generated always as identity primary key,
    from_location_id bigint not null references service.stock_locations (id),
    to_location_id   bigint not null references service.stock_locations (id),
    part_number      text not null references service.parts (part_number),
    quantity         numeric(12, 3) not null check (quantity > 0),
    status           text not null default 'requested'
                     check (status in ('requested', 'approved', 'rejected', 'in_transit', 'received', 'cancelled')),
    work_order_id    bigint references service.work_orders (id),
    expected_at      timestamptz,
    requested_by     text not null check (length(btrim(requested_by)) between 1 and 128),
    approved_by      text,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    constraint stock_transfers_two_places check (from_location_id <> to_location_id)
);

create index stock_transfers_to on service.stock_transfers (to_location_id, part_number, status);

create trigger stock_transfers_audit after insert or update or delete on service.stock_transfers
    for each row execute function service.audit_row();
