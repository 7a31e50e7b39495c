-- depends: 0001.telemetry-devices
-- Condition monitoring: datasheet limits, per-sample scores, alerts and checkpointed detector state.
create schema if not exists maintenance;

-- Datasheet limits per equipment model: low/high raise an alarm; the asset counts as failed beyond
-- trip_low/trip_high, or once the metric has lost the fraction `loss` of its healthy value at the
-- operating point (what time-to-failure extrapolates to).
create table maintenance.model_limits (
    model     text not null,
    metric    text not null,
    low       double precision,
    high      double precision,
    unit      text not null,
    trip_low  double precision,
    trip_high double precision,
    loss      double precision check (loss > 0 and loss < 1),
    primary key (model, metric),
    check (low is null or high is null or low < high),
    check (trip_low is null or low is null or trip_low <= low),
    check (trip_high is null or high is null or trip_high >= high)
);

insert into maintenance.model_limits (model, metric, low, high, unit, trip_low, trip_high, loss) values
    ('CP-200', 'speed_rpm',          null, 3100, 'rpm',  null, null, null),
    ('CP-200', 'flow_m3h',           40,   150,  'm3/h', null, null, 0.30),
    ('CP-200', 'pressure_bar',       2.0,  8.0,  'bar',  1.2,  9.0,  0.40),
    ('CP-200', 'motor_current_a',    null, 66,   'A',    null, 72,   null),
    ('CP-200', 'vibration_rms_mm_s', null, 7.1,  'mm/s', null, 11.0, null),
    ('CP-200', 'bearing_temp_c',     null, 90,   'degC', null, 105,  null),
    ('EM-75',  'speed_rpm',          null, 1550, 'rpm',  null, null, null),
    ('EM-75',  'motor_current_a',    null, 150,  'A',    null, 170,  null),
    ('EM-75',  'vibration_rms_mm_s', null, 7.1,  'mm/s', null, 11.0, null),
    ('EM-75',  'bearing_temp_c',     null, 90,   'degC', null, 105,  null),
    ('EM-75',  'winding_temp_c',     null, 140,  'degC', null, 155,  null);

-- One score per assessed sample; null while the unit was stopped or starting up.
create table maintenance.scores (
    asset_id text not null,
    ts       timestamptz not null,
    score    double precision,
    primary key (asset_id, ts)
);

create table maintenance.alerts (
    id              bigint generated always as identity primary key,
    asset_id        text not null,
    failure_mode    text not null check (failure_mode in
                        ('bearing_wear', 'cavitation', 'overheating', 'seal_leak', 'imbalance', 'blockage', 'unknown')),
    raised_at       timestamptz not null,
    cleared_at      timestamptz check (cleared_at is null or cleared_at >= raised_at),
    score           double precision not null,
    signals         jsonb not null,
    time_to_failure jsonb,
    -- the recent samples behind the alert ("window" is a reserved word)
    recent_samples  jsonb not null default '[]'
);

-- At most one open alert per asset and failure mode: recording the same alert twice is a no-op.
create unique index alerts_open on maintenance.alerts (asset_id, failure_mode) where cleared_at is null;
create index alerts_asset_raised on maintenance.alerts (asset_id, raised_at);

-- The latest checkpoint of each asset's monitoring state (see maintenance.monitor).
create table maintenance.detector_state (
    asset_id   text primary key,
    state      bytea not null,
    updated_at timestamptz not null default now()
);
