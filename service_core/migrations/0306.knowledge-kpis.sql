-- depends: 0302.service-lifecycle-base
-- The knowledge base (what was learnt fixing an asset, searchable by text, model, fault code and failure
-- mode) and the survey answers the service KPIs read.

-- array_to_string is only stable (it formats any element type); on text[] it is immutable, which a
-- generated column needs.
create function service.article_words(parts text[]) returns text
language sql immutable parallel safe strict as $$ select array_to_string(parts, ' ') $$;

create table service.articles (
    id                   bigint generated always as identity primary key,
    title                text not null check (length(btrim(title)) between 1 and 200),
    problem              text not null default '' check (length(problem) <= 20000),
    cause                text not null default '' check (length(cause) <= 20000),
    fix                  text not null check (length(btrim(fix)) between 1 and 20000),
    asset_models         text[] not null default '{}' check (cardinality(asset_models) <= 50),
    fault_codes          text[] not null default '{}' check (cardinality(fault_codes) <= 50),
    failure_modes        text[] not null default '{}'
                         check (failure_modes <@ '{bearing_wear,cavitation,overheating,seal_leak,imbalance,blockage,unknown}'::text[]),
    tags                 text[] not null default '{}' check (cardinality(tags) <= 50),
    author               text not null check (length(btrim(author)) between 1 and 128),
    -- the order whose resolution became this article; an order is promoted at most once
    source_work_order_id bigint unique references service.work_orders (id),
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    -- 'english' stems the prose ("leaking seals" finds "seal leak"); codes such as E-042 are split by the
    -- parser into the same tokens under any configuration and digits are never stemmed, so one
    -- configuration serves both, and queries use it too.
    search               tsvector generated always as (
                             setweight(to_tsvector('english', title), 'A')
                          || setweight(to_tsvector('english', service.article_words(fault_codes) || ' '
                                                              || service.article_words(failure_modes)), 'B')
                          || setweight(to_tsvector('english', problem || ' ' || cause || ' ' || fix), 'C')
                         ) stored
);

create index articles_search on service.articles using gin (search);
create index articles_asset_models on service.articles using gin (asset_models);
create index articles_fault_codes on service.articles using gin (fault_codes);

create function service.articles_touch() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end $$;

create trigger articles_touch before update on service.articles
    for each row execute function service.articles_touch();

create trigger articles_audit after insert or update or delete on service.articles
    for each row execute function service.audit_row();

-- One survey per order: sent after the job, answered (or not) by the customer.
create table service.surveys (
    id            bigint generated always as identity primary key,
    work_order_id bigint not null unique references service.work_orders (id),
    csat          smallint check (csat between 1 and 5),
    nps           smallint check (nps between 0 and 10),
    comment       text check (length(comment) <= 5000),
    sent_at       timestamptz,
    answered_at   timestamptz,
    created_at    timestamptz not null default now(),
    constraint surveys_answer_after_sending check (answered_at is null or sent_at is null or answered_at >= sent_at),
    constraint surveys_answered_has_score check (answered_at is null or csat is not null or nps is not null)
);

create index surveys_answered on service.surveys (answered_at) where answered_at is not null;
