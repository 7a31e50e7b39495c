-- depends: 0307.service-parts-dispatch-base
-- Surveys that close the loop: one per completed order (service.surveys, 0306, whose unique work_order_id
-- holds that), sent through a channel with a tokenised link to a public page, reminded once, and a
-- service-recovery task for the region's supervisor when the customer is a detractor.

-- The token is the only key of the public page: unguessable (two random UUIDs, 244 random bits).
alter table service.surveys
    add column token             text not null unique
                                 default replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
                                 check (token ~ '^[0-9a-f]{64}$'),
    add column channel           text check (channel in ('email', 'webhook')),
    add column recipient         text check (length(recipient) <= 320),
    -- the survey cannot be sent (no address and no webhook); kept so that it is not silently missing
    add column unsendable_reason text check (length(unsendable_reason) between 1 and 500),
    add column reminder_sent_at  timestamptz,
    add constraint surveys_sendable_or_why check (unsendable_reason is null or channel is null),
    add constraint surveys_reminder_after_sending check (reminder_sent_at is null or sent_at <= reminder_sent_at);

create index surveys_unanswered on service.surveys (sent_at) where answered_at is null and sent_at is not null;

create trigger surveys_audit after insert or update or delete on service.surveys
    for each row execute function service.audit_row();

-- What the survey job sends: the invitation and at most one reminder per survey (the unique key holds it).
-- A message is claimed in one transaction, sent outside it, and its result recorded in another; a failed
-- send is retried from next_attempt_at, and a claim whose sender died is taken again once it expires.
create table service.survey_messages (
    id              bigint generated always as identity primary key,
    survey_id       bigint not null references service.surveys (id) on delete cascade,
    kind            text not null check (kind in ('invitation', 'reminder')),
    channel         text not null check (channel in ('email', 'webhook')),
    recipient       text check (length(recipient) <= 320),
    attempts        integer not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null default now(),
    claimed_until   timestamptz,
    last_error      text check (length(last_error) <= 2000),
    sent_at         timestamptz,
    created_at      timestamptz not null default now(),
    constraint survey_messages_one_per_kind unique (survey_id, kind),
    constraint survey_messages_email_has_recipient check (channel <> 'email' or recipient is not null)
);

create index survey_messages_due on service.survey_messages (next_attempt_at) where sent_at is null;

-- A detractor's answer opens one task for the supervisor of the site's region to call the customer back.
create table service.recovery_tasks (
    id            bigint generated always as identity primary key,
    survey_id     bigint not null unique references service.surveys (id),
    work_order_id bigint not null references service.work_orders (id),
    supervisor_id bigint references service.supervisors (id),  -- null: no active supervisor for the region
    region        text not null check (length(btrim(region)) between 1 and 100),
    status        text not null default 'open' check (status in ('open', 'done')),
    reason        text not null check (length(btrim(reason)) between 1 and 500),
    due_at        timestamptz not null,
    created_at    timestamptz not null default now(),
    closed_at     timestamptz,
    closed_by     text check (length(btrim(closed_by)) between 1 and 128),
    note          text check (length(btrim(note)) between 1 and 5000),
    constraint recovery_tasks_done_is_closed
        check ((status = 'done') = (closed_at is not null and closed_by is not null and note is not null))
);

create index recovery_tasks_open on service.recovery_tasks (supervisor_id, due_at) where status = 'open';

create trigger recovery_tasks_audit after insert or update or delete on service.recovery_tasks
    for each row execute function service.audit_row();
