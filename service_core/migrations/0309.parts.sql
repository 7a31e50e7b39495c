-- depends: 0307.service-parts-dispatch-base
-- Spare parts on top of the shared ledger: which failure modes a part repairs (for the demand forecast),
-- reorder points per location and part, where a location is replenished from, and the rules of a transfer
-- (four eyes on approval, only the moves its life allows).

-- A part that a failure mode needs, and how many per repair (e.g. bearing_wear -> two bearings).
create table service.part_failure_modes (
    part_number  text not null references service.parts (part_number) on delete cascade,
    failure_mode text not null check (failure_mode in
                     ('bearing_wear', 'cavitation', 'overheating', 'seal_leak', 'imbalance', 'blockage', 'unknown')),
    quantity     numeric(10, 3) not null default 1 check (quantity > 0),
    primary key (part_number, failure_mode)
);

create index part_failure_modes_mode on service.part_failure_modes (failure_mode);

-- Where a location's stock comes from (a van from its branch, a branch from the warehouse).
alter table service.stock_locations
    add column replenished_from_id bigint references service.stock_locations (id),
    add constraint stock_locations_not_own_source check (replenished_from_id is null or replenished_from_id <> id);

create trigger stock_locations_audit after insert or update or delete on service.stock_locations
    for each row execute function service.audit_row();

-- Below reorder_point (available plus what is on its way), suggest at least reorder_quantity.
create table service.stock_reorder_points (
    location_id      bigint not null references service.stock_locations (id) on delete cascade,
    part_number      text not null references service.parts (part_number) on delete cascade,
    reorder_point    numeric(12, 3) not null check (reorder_point >= 0),
    reorder_quantity numeric(12, 3) not null check (reorder_quantity > 0),
    updated_by       text not null check (length(btrim(updated_by)) between 1 and 128),
    updated_at       timestamptz not null default now(),
    primary key (location_id, part_number)
);

create index stock_movements_order on service.stock_movements (work_order_id, part_number) where work_order_id is not null;
create index stock_reservations_order on service.stock_reservations (work_order_id) where status = 'active';

-- A transfer's life: who decided, when it left and arrived.
alter table service.stock_transfers
    add column rejected_by text check (length(btrim(rejected_by)) between 1 and 128),
    add column note        text check (length(note) <= 2000),
    add column shipped_at  timestamptz,
    add column received_at timestamptz,
    add constraint stock_transfers_four_eyes check (approved_by is null or approved_by <> requested_by),
    add constraint stock_transfers_approved_has_approver
        check (status not in ('approved', 'in_transit', 'received') or approved_by is not null);

create function service.stock_transfer_move() returns trigger
language plpgsql as $$
begin
    if new.status = old.status then
        return new;
    end if;
    if not ((old.status = 'requested' and new.status in ('approved', 'rejected', 'cancelled'))
         or (old.status = 'approved' and new.status in ('in_transit', 'cancelled'))
         or (old.status = 'in_transit' and new.status = 'received')) then
        raise exception 'a stock transfer cannot go from % to %', old.status, new.status
            using errcode = 'check_violation', constraint = 'stock_transfers_moves';
    end if;
    new.updated_at := now();
    return new;
end $$;

create trigger stock_transfers_moves before update on service.stock_transfers
    for each row execute function service.stock_transfer_move();

-- A finished order holds no stock: its active reservations are released in the same transaction, in part and
-- location order (the order in which every stock operation locks levels, so none of them deadlock).
create function service.stock_release_finished_order() returns trigger
language plpgsql as $$
declare
    held record;
begin
    for held in select id from service.stock_reservations
                 where work_order_id = new.id and status = 'active'
                 order by part_number, location_id
    loop
        update service.stock_reservations set status = 'released', closed_at = now() where id = held.id;
    end loop;
    return null;
end $$;

create trigger work_orders_release_stock after update of status on service.work_orders
    for each row when (new.status in ('completed', 'closed', 'cancelled') and old.status is distinct from new.status)
    execute function service.stock_release_finished_order();
