"""1-minute and 1-hour rollups of the readings (min / max / sum / count per asset and metric), compression.

On TimescaleDB: columnstore compression segmented by asset and metric, and two continuous aggregates, the
hourly one built on the minute one. Their policies (refresh, compression, retention) are set from the
storage policy at start-up (``telemetry.storage.apply_policy``).

On plain PostgreSQL: two tables with the same columns, filled up to a watermark by
``telemetry.refresh_rollups`` (the storage job calls it every minute) and kept exact behind it by a trigger
that merges rows arriving late (a device's backlog) into both rollups as they are inserted. The trigger and
the refresh share an advisory lock, so a row is counted once, by one of them.

Either way ``telemetry.rollup_watermark(rollup)`` says up to where a rollup is complete; the query API reads
rollups behind it and raw readings after it.
"""

from yoyo import step

__depends__ = {"0002.telemetry-readings"}

TIMESCALE = [
    # Rollup refreshes read the newest minutes of every series: a BRIN index on ts finds them for a few kilobytes,
    # where create_hypertable's default b-tree on ts costs 11.6 bytes per reading (BENCHMARKS.md).
    "drop index if exists telemetry.readings_ts_idx",
    "create index readings_ts_brin on telemetry.readings using brin (ts)",
    """
    alter table telemetry.readings set (
        timescaledb.compress,
        timescaledb.compress_segmentby = 'asset_id, metric',
        timescaledb.compress_orderby = 'ts'
    )
    """,
    """
    create materialized view telemetry.readings_1m
    with (timescaledb.continuous, timescaledb.materialized_only = true) as
    select asset_id, metric, time_bucket(interval '1 minute', ts) as bucket,
           min(value) as min, max(value) as max, sum(value) as sum, count(*) as count
      from telemetry.readings
     group by asset_id, metric, time_bucket(interval '1 minute', ts)
    with no data
    """,
    """
    create materialized view telemetry.readings_1h
    with (timescaledb.continuous, timescaledb.materialized_only = true) as
    select asset_id, metric, time_bucket(interval '1 hour', bucket) as bucket,
           min(min) as min, max(max) as max, sum(sum) as sum, sum(count)::bigint as count
      from telemetry.readings_1m
     group by asset_id, metric, time_bucket(interval '1 hour', bucket)
    with no data
    """,
    # complete up to the continuous aggregate's own watermark; before its first refresh that is the earliest
    # instant TimescaleDB can store (4714 BC), returned as null: nothing is complete
    """
    create function telemetry.rollup_watermark(rollup text) returns timestamptz
    language sql stable as $$
        select case when w.at > timestamptz '1900-01-01 00:00:00+00' then w.at end
          from _timescaledb_catalog.continuous_agg c,
               lateral (select _timescaledb_functions.to_timestamp(
                                   _timescaledb_functions.cagg_watermark(c.mat_hypertable_id)) as at) w
         where c.user_view_schema = 'telemetry' and c.user_view_name = 'readings_' || rollup
    $$
    """,
]

PLAIN = [
    # the refresh reads the newest minutes of every series: without an index on ts that is the whole day's partition
    "create index readings_ts_brin on telemetry.readings using brin (ts)",
    """
    create table telemetry.readings_1m (
        asset_id text not null,
        metric   text not null,
        bucket   timestamptz not null,
        min      double precision not null,
        max      double precision not null,
        sum      double precision not null,
        count    bigint not null,
        primary key (asset_id, metric, bucket)
    )
    """,
    "create table telemetry.readings_1h (like telemetry.readings_1m including all)",
    """
    create table telemetry.rollup_state (
        rollup    text primary key check (rollup in ('1m', '1h')),
        watermark timestamptz not null  -- complete for every bucket before this instant
    )
    """,
    "insert into telemetry.rollup_state values ('1m', '-infinity'), ('1h', '-infinity')",
    """
    create function telemetry.rollup_watermark(rollup text) returns timestamptz
    language sql stable as $$  -- null before the first refresh: nothing is complete
        select nullif(watermark, '-infinity') from telemetry.rollup_state
         where rollup_state.rollup = rollup_watermark.rollup
    $$
    """,
    # writers hold this lock shared while they insert; the refresh holds it alone
    """
    create function telemetry.rollup_lock_key() returns bigint
    language sql immutable as $$ select 7305221930112 $$
    """,
    """
    create function telemetry.merge_late_readings() returns trigger
    language plpgsql as $$
    declare
        minute_mark timestamptz;
        hour_mark   timestamptz;
    begin
        perform pg_advisory_xact_lock_shared(telemetry.rollup_lock_key());
        select watermark into minute_mark from telemetry.rollup_state where rollup = '1m';
        select watermark into hour_mark from telemetry.rollup_state where rollup = '1h';
        insert into telemetry.readings_1m as r (asset_id, metric, bucket, min, max, sum, count)
        select asset_id, metric, date_bin(interval '1 minute', ts, timestamptz '2000-01-03 00:00:00+00'),
               min(value), max(value), sum(value), count(*)
          from added where ts < minute_mark
         group by 1, 2, 3
        on conflict (asset_id, metric, bucket) do update
           set min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
               sum = r.sum + excluded.sum, count = r.count + excluded.count;
        insert into telemetry.readings_1h as r (asset_id, metric, bucket, min, max, sum, count)
        select asset_id, metric, date_bin(interval '1 hour', ts, timestamptz '2000-01-03 00:00:00+00'),
               min(value), max(value), sum(value), count(*)
          from added where ts < hour_mark
         group by 1, 2, 3
        on conflict (asset_id, metric, bucket) do update
           set min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
               sum = r.sum + excluded.sum, count = r.count + excluded.count;
        return null;
    end $$
    """,
    """
    create trigger readings_late_into_rollups
    after insert on telemetry.readings
    referencing new table as added
    for each statement execute function telemetry.merge_late_readings()
    """,
    # materialise every whole minute / hour before ``upto`` not yet rolled up; returns the new minute watermark
    """
    create function telemetry.refresh_rollups(upto timestamptz) returns timestamptz
    language plpgsql as $$
    declare
        origin constant timestamptz := timestamptz '2000-01-03 00:00:00+00';
        minute_from timestamptz;
        minute_to   timestamptz;
        hour_from   timestamptz;
        hour_to     timestamptz;
    begin
        perform pg_advisory_xact_lock(telemetry.rollup_lock_key());
        minute_from := (select watermark from telemetry.rollup_state where rollup = '1m');
        minute_to := greatest(minute_from, date_bin(interval '1 minute', upto, origin));
        if minute_to > minute_from then
            insert into telemetry.readings_1m (asset_id, metric, bucket, min, max, sum, count)
            select asset_id, metric, date_bin(interval '1 minute', ts, origin),
                   min(value), max(value), sum(value), count(*)
              from telemetry.readings
             where ts >= minute_from and ts < minute_to
             group by 1, 2, 3;
            update telemetry.rollup_state set watermark = minute_to where rollup = '1m';
        end if;
        hour_from := (select watermark from telemetry.rollup_state where rollup = '1h');
        hour_to := greatest(hour_from, date_bin(interval '1 hour', minute_to, origin));
        if hour_to > hour_from then
            insert into telemetry.readings_1h (asset_id, metric, bucket, min, max, sum, count)
            select asset_id, metric, date_bin(interval '1 hour', bucket, origin),
                   min(min), max(max), sum(sum), sum(count)
              from telemetry.readings_1m
             where bucket >= hour_from and bucket < hour_to
             group by 1, 2, 3;
            update telemetry.rollup_state set watermark = hour_to where rollup = '1h';
        end if;
        return minute_to;
    end $$
    """,
    # A day's primary key is built while the readings of every series arrive interleaved, which leaves its pages
    # half full (97 bytes a reading, more than the row: BENCHMARKS.md). Once the day is over the storage job
    # rebuilds it (REINDEX CONCURRENTLY) and records it here.
    """
    create table telemetry.compacted_partitions (
        name         text primary key,
        compacted_at timestamptz not null default now()
    )
    """,
    """
    create function telemetry.partitions_to_compact(closed_before timestamptz) returns setof text
    language sql stable as $$
        select c.relname::text
          from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = 'telemetry.readings'::regclass and c.relname ~ '^readings_p[0-9]{8}$'
           and to_date(substr(c.relname, 11), 'YYYYMMDD') + 1 <= (closed_before at time zone 'UTC')::date
           and not exists (select from telemetry.compacted_partitions p where p.name = c.relname)
         order by 1
    $$
    """,
    # retention: whole daily partitions go; rows older than every partition sit in the default one
    """
    create function telemetry.drop_partitions_before(cutoff timestamptz) returns integer
    language plpgsql as $$
    declare
        part record;
        dropped integer := 0;
    begin
        for part in
            select c.relname
              from pg_inherits i join pg_class c on c.oid = i.inhrelid
             where i.inhparent = 'telemetry.readings'::regclass and c.relname ~ '^readings_p[0-9]{8}$'
               and to_date(substr(c.relname, 11), 'YYYYMMDD') + 1 <= (cutoff at time zone 'UTC')::date
        loop
            execute format('drop table telemetry.%I', part.relname);
            delete from telemetry.compacted_partitions where name = part.relname;
            dropped := dropped + 1;
        end loop;
        delete from telemetry.readings_default where ts < cutoff;
        return dropped;
    end $$
    """,
]


def apply(conn):
    cur = conn.cursor()
    cur.execute("select value from telemetry.storage where key = 'readings'")
    backend = cur.fetchone()[0]
    for statement in TIMESCALE if backend == "timescaledb" else PLAIN:
        cur.execute(statement)


def rollback(conn):
    cur = conn.cursor()
    cur.execute("drop materialized view if exists telemetry.readings_1h cascade")
    cur.execute("drop materialized view if exists telemetry.readings_1m cascade")
    cur.execute("drop table if exists telemetry.readings_1h, telemetry.readings_1m, telemetry.rollup_state, "
                "telemetry.compacted_partitions")
    cur.execute("drop trigger if exists readings_late_into_rollups on telemetry.readings")
    cur.execute("drop index if exists telemetry.readings_ts_brin")
    for function in ("merge_late_readings()", "refresh_rollups(timestamptz)", "rollup_watermark(text)",
                     "rollup_lock_key()", "drop_partitions_before(timestamptz)",
                     "partitions_to_compact(timestamptz)"):
        cur.execute(f"drop function if exists telemetry.{function}")


steps = [step(apply, rollback)]
