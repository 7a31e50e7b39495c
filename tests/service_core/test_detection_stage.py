"""The detector as the gateway runs it: batches in, scores and alerts stored, one order opened, state kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maintenance import store as maintenance_store
from maintenance.monitor import ConditionMonitor
from service_core.runtime.detection import DetectionStage
from simulators.equipment import generate
from telemetry.readings import Sample
from tests.service_core.builders import a_site, an_asset, an_engineer

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _samples(asset_id: str, seconds: int, fault: str | None = None) -> list[Sample]:
    return [
        Sample(asset_id, T0 + timedelta(seconds=t), metrics, seq)
        for seq, (t, metrics) in enumerate(generate("CP-200", seconds, 5, fault=fault, seed=3))
    ]


async def _fleet(pool, *assets: str) -> None:
    async with pool.connection() as conn, conn.transaction():
        site = await a_site(conn)
        for asset in assets:
            await an_asset(conn, site=site, asset_id=asset)
        await an_engineer(conn, skills={"mechanical": 3})


async def _feed(stage: DetectionStage, samples: list[Sample], batch: int = 25) -> None:
    for i in range(0, len(samples), batch):
        await stage(samples[i:i + batch])


@pytest.mark.asyncio
async def test_a_developing_fault_opens_one_assigned_order_and_healthy_assets_none(pool, conn):
    await _fleet(pool, "pump-003", "pump-004")
    stage = DetectionStage(pool)
    faulty = _samples("pump-003", 400, fault="pump-003:bearing_wear@40+300")
    healthy = _samples("pump-004", 400)
    for i in range(0, len(faulty), 25):  # interleaved, as a gateway's batches are
        await stage(faulty[i:i + 25] + healthy[i:i + 25])

    assert stage.alerts >= 1 and stage.orders == 1
    orders = conn.execute("select asset_id, failure_mode, status, alert_id from service.work_orders").fetchall()
    assert [(a, m, s) for a, m, s, _ in orders] == [("pump-003", "bearing_wear", "assigned")]
    alert = conn.execute("select id, asset_id, failure_mode from maintenance.alerts").fetchall()
    assert alert == [(orders[0][3], "pump-003", "bearing_wear")]
    scored = conn.execute("select asset_id, count(*) from maintenance.scores group by 1 order by 1").fetchall()
    assert scored == [("pump-003", len(faulty)), ("pump-004", len(healthy))]


@pytest.mark.asyncio
async def test_an_asset_restored_from_its_checkpoint_scores_as_if_it_had_never_stopped(pool, conn):
    await _fleet(pool, "pump-001")
    samples = _samples("pump-001", 300)
    uninterrupted = ConditionMonitor()
    expected = [s.score for s in uninterrupted.process(samples, {"pump-001": "CP-200"}).scores]

    before = DetectionStage(pool)
    await _feed(before, samples[:1000])
    await before.checkpoint()  # what a stopping gateway does
    assert conn.execute("select asset_id from maintenance.detector_state").fetchall() == [("pump-001",)]

    after = DetectionStage(pool)  # another process, or the same one restarted
    await _feed(after, samples[1000:])
    stored = conn.execute(
        "select score from maintenance.scores where asset_id = 'pump-001' order by ts"
    ).fetchall()
    assert [s for (s,) in stored] == expected


@pytest.mark.asyncio
async def test_a_checkpoint_from_an_incompatible_detector_is_refused_and_the_asset_learns_afresh(pool, conn, caplog):
    await _fleet(pool, "pump-001", "pump-002")
    samples = _samples("pump-001", 60)
    writer = DetectionStage(pool)
    await _feed(writer, samples)
    monitor = writer._monitor
    thermal = monitor._watches["pump-001"].detector._thermal
    # what an older detector with fewer thermal candidates would have written
    for name, value in vars(thermal).items():
        if getattr(value, "ndim", 0) >= 1:
            setattr(thermal, name, value[:3])
    async with pool.connection() as c, c.transaction():
        await maintenance_store.save_states(c, {"pump-001": monitor.checkpoint("pump-001")})

    reader = DetectionStage(pool)
    later = _samples("pump-001", 120)[len(samples):] + _samples("pump-002", 20)
    await _feed(reader, later)  # no exception: pump-001 starts afresh, pump-002 is scored as usual
    assert "written by an incompatible detector" in caplog.text
    assert reader._monitor.assets == ("pump-001", "pump-002")
    scored = dict(conn.execute("select asset_id, count(*) from maintenance.scores group by 1").fetchall())
    assert scored == {"pump-001": 601, "pump-002": 101}


@pytest.mark.asyncio
async def test_completed_work_closes_the_alert_and_the_repaired_asset_is_learned_afresh(pool, conn):
    from service_core.workorders import service as workorders

    await _fleet(pool, "pump-003")
    stage = DetectionStage(pool, maintenance_every_s=0.0)
    await _feed(stage, _samples("pump-003", 400, fault="pump-003:bearing_wear@40+300")[:650])  # 130 s
    [(order_id, alert_id)] = conn.execute("select id, alert_id from service.work_orders").fetchall()
    assert conn.execute("select cleared_at from maintenance.alerts where id = %s", (alert_id,)).fetchone() == (None,)

    async with pool.connection() as c, c.transaction():
        for target in ("accepted", "en_route", "on_site", "in_progress", "completed"):
            await workorders.transition(c, work_order_id=order_id, target=target, actor="ana")
    # the repaired pump runs on, quieter than the worn one the detector had learned
    repaired = [
        Sample("pump-003", T0 + timedelta(seconds=131 + t), metrics, 10_000 + seq)
        for seq, (t, metrics) in enumerate(generate("CP-200", 300, 5, seed=4))
    ]
    await _feed(stage, repaired)
    assert stage.rebaselined == 1
    (cleared,) = conn.execute("select cleared_at from maintenance.alerts where id = %s", (alert_id,)).fetchone()
    assert cleared is not None
    assert conn.execute("select count(*) from maintenance.alerts").fetchone() == (1,)  # no alert on the new normal
    assert conn.execute("select count(*) from service.work_orders").fetchone() == (1,)
