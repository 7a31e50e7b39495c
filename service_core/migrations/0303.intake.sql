-- depends: 0302.service-lifecycle-base
-- Intake: every channel (call centre, the asset's QR page, e-mail, the device's own fault codes, the detector)
-- becomes one kind of service request, always about a known asset, triaged into a work order or linked to an
-- earlier request as its duplicate.

create table service.service_requests (
    id             bigint generated always as identity primary key,
    -- what the customer quotes on the phone and sees on the status page (SR-7K2M9QXA)
    tracking_code  text not null unique check (tracking_code ~ '^SR-[0-9A-Z]{8}$'),
    channel        text not null check (channel in ('api', 'qr', 'email', 'device', 'detector')),
    -- open: waiting for triage; triaged: it has its work order; duplicate: linked to an earlier request;
    -- rejected: no order will follow (spam, not ours), with the reason
    status         text not null default 'open' check (status in ('open', 'triaged', 'duplicate', 'rejected')),
    -- where the asset was when it was reported; an asset that moves later keeps its old requests
    customer_id    bigint not null references service.customers (id),
    site_id        bigint not null references service.sites (id),
    asset_id       text not null references service.assets (id),
    reporter_name  text check (length(reporter_name) <= 200),
    reporter_email text check (length(reporter_email) <= 320),
    reporter_phone text check (length(reporter_phone) <= 40),
    subject        text not null check (length(btrim(subject)) between 1 and 200),
    description    text check (length(description) <= 20000),
    fault_code     text check (fault_code ~ '^[A-Za-z0-9_.:\-]{1,32}$'),
    priority       text not null default 'normal' check (priority in ('low', 'normal', 'high', 'urgent')),
    received_at    timestamptz not null default now(),
    -- the channel's own id of the message, so a redelivery opens nothing new (Message-ID, device ts + code)
    external_id    text check (length(external_id) between 1 and 998),
    actor          text not null check (length(btrim(actor)) between 1 and 128),
    work_order_id  bigint references service.work_orders (id),
    duplicate_of   bigint references service.service_requests (id),
    triaged_at     timestamptz,
    triaged_by     text check (length(btrim(triaged_by)) between 1 and 128),
    reject_reason  text check (length(reject_reason) <= 2000),
    constraint service_requests_channel_external_key unique (channel, external_id),
    constraint service_requests_triaged_has_order
        check (status <> 'triaged' or (work_order_id is not null and triaged_at is not null)),
    constraint service_requests_duplicate_has_original check ((status = 'duplicate') = (duplicate_of is not null)),
    constraint service_requests_open_has_no_order check (status <> 'open' or work_order_id is null),
    constraint service_requests_rejected_says_why check ((status = 'rejected') = (reject_reason is not null))
);

-- One request waiting for triage per asset: a second report while one waits is its duplicate.
create unique index service_requests_one_open_per_asset on service.service_requests (asset_id)
    where status = 'open';
-- An order is opened by one request; duplicates point at the same order.
create unique index service_requests_one_per_order on service.service_requests (work_order_id)
    where status = 'triaged';
create index service_requests_asset on service.service_requests (asset_id, received_at);
create index service_requests_customer on service.service_requests (customer_id, received_at);
create index service_requests_status on service.service_requests (status, received_at);
create index service_requests_duplicate_of on service.service_requests (duplicate_of) where duplicate_of is not null;

create trigger service_requests_audit after insert or update or delete on service.service_requests
    for each row execute function service.audit_row();

-- The input exactly as it came (raw e-mail, device payload, form fields): nothing a parser missed is lost.
-- A table of its own so the audit log does not copy megabytes of mail.
create table service.service_request_inputs (
    request_id   bigint primary key references service.service_requests (id),
    content_type text not null check (content_type ~ '^[a-z0-9.+-]+/[a-zA-Z0-9.+-]+$'),
    content      bytea not null check (length(content) <= 41943040)
);

-- A request's photos and files; at triage they get the order's id too, so they show on the order.
alter table service.attachments
    add column request_id bigint references service.service_requests (id),
    add constraint attachments_belong_somewhere check (work_order_id is not null or request_id is not null);
create index attachments_request on service.attachments (request_id) where request_id is not null;

-- Mail that could not become a request, kept whole with the reason it was refused.
create table service.rejected_mail (
    id          bigint generated always as identity primary key,
    received_at timestamptz not null default now(),
    mail_from   text,
    rcpt_to     text[] not null default '{}',
    message_id  text,
    subject     text,
    reason      text not null check (length(btrim(reason)) between 1 and 2000),
    content     bytea not null check (length(content) <= 41943040)
);

create index rejected_mail_received on service.rejected_mail (received_at);

-- The unguessable token behind each asset's QR code (/r/{token}); made with the asset, kept for its life.
create table service.asset_qr_codes (
    asset_id   text primary key references service.assets (id),
    token      text not null unique check (token ~ '^[A-Za-z0-9_\-]{22,64}$'),
    created_at timestamptz not null default now()
);

create function service.new_qr_token() returns text
language sql volatile as $$
    -- 122 random bits from gen_random_uuid (core since PostgreSQL 13), url-safe
    select replace(gen_random_uuid()::text, '-', '')
$$;

create function service.create_asset_qr_code() returns trigger
language plpgsql as $$
begin
    insert into service.asset_qr_codes (asset_id, token) values (new.id, service.new_qr_token())
    on conflict (asset_id) do nothing;
    return null;
end $$;

create trigger assets_qr_code after insert on service.assets
    for each row execute function service.create_asset_qr_code();

insert into service.asset_qr_codes (asset_id, token)
select id, service.new_qr_token() from service.assets
on conflict (asset_id) do nothing;
