"""Readings: a TimescaleDB hypertable when the extension is available, else native range partitions.

The choice is made once, here, and recorded in ``telemetry.storage``.
"""

from yoyo import step

__depends__ = {"0001.telemetry-devices"}

TABLE = """
create table telemetry.readings (
    asset_id text not null,
    metric   text not null,
    ts       timestamptz not null,
    value    double precision not null,
    seq      bigint,
    primary key (asset_id, metric, ts)
){partitioning}
"""

PARTITION_FUNCTION = """
create function telemetry.ensure_partitions(first_day date, days integer) returns integer
language plpgsql as $$
declare
    day date;
    created integer := 0;
    name text;
begin
    for i in 0 .. days - 1 loop
        day := first_day + i;
        name := 'readings_p' || to_char(day, 'YYYYMMDD');
        if to_regclass('telemetry.' || name) is null then
            begin
                execute format(
                    'create table telemetry.%I partition of telemetry.readings for values from (%L) to (%L)',
                    name, day::timestamp at time zone 'UTC', (day + 1)::timestamp at time zone 'UTC');
                created := created + 1;
            exception when check_violation then
                -- rows for that day already sit in the default partition: leave them there
                null;
            end;
        end if;
    end loop;
    return created;
end $$;
"""


def apply(conn):
    cur = conn.cursor()
    cur.execute("select 1 from pg_available_extensions where name = 'timescaledb'")
    if cur.fetchone():
        cur.execute("create extension if not exists timescaledb")
        cur.execute(TABLE.format(partitioning=""))
        cur.execute(
            "select create_hypertable('telemetry.readings', by_range('ts', interval '1 day'))"
        )
        backend = "timescaledb"
    else:
        cur.execute(TABLE.format(partitioning=" partition by range (ts)"))
        cur.execute("create table telemetry.readings_default partition of telemetry.readings default")
        cur.execute(PARTITION_FUNCTION)
        cur.execute("select telemetry.ensure_partitions((now() at time zone 'UTC')::date - 1, 9)")
        backend = "partitioned"
    cur.execute("insert into telemetry.storage (key, value) values ('readings', %s)", (backend,))


def rollback(conn):
    cur = conn.cursor()
    cur.execute("drop table telemetry.readings cascade")
    cur.execute("drop function if exists telemetry.ensure_partitions(date, integer)")
    cur.execute("delete from telemetry.storage where key = 'readings'")


steps = [step(apply, rollback)]
