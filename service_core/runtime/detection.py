"""The detector as a gateway processor: score each committed batch, store the scores, open preventive orders.

Detector state lives in memory keyed by asset, is restored from the database the
first time an asset is seen here, and is checkpointed back regularly and on
stop, so an asset's detector can move to another worker (or survive a restart).
When work on an asset is completed (any work order moved to completed), its
detector forgets the baseline it learned before and learns the asset afresh, and
the alert it had open is closed: a repaired pump is not alarmed on for running
better than it did.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from maintenance import store as maintenance_store
from maintenance.errors import StateRejected
from maintenance.events import Alert
from maintenance.monitor import ConditionMonitor, MonitorResult
from service_core.workorders import service as workorders
from service_core.workorders.flows import OrderOpened, open_preventive_order
from telemetry import store as telemetry_store
from telemetry.readings import Sample

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Detection:
    """An alert and the order it opened (None when one was already open)."""

    alert: Alert
    alert_id: int
    order: OrderOpened | None


class DetectionStage:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        monitor: ConditionMonitor | None = None,
        checkpoint_every_s: float = 60.0,
        maintenance_every_s: float = 5.0,
        on_detection: Callable[[Detection], None] | None = None,
    ) -> None:
        self.checkpoint_every_s = checkpoint_every_s
        self.maintenance_every_s = maintenance_every_s
        self.alerts = 0
        self.orders = 0
        self.rebaselined = 0
        self._pool = pool
        self._monitor = monitor
        self._on_detection = on_detection
        self._models: dict[str, str] = {}
        self._restored: set[str] = set()
        self._checkpointed_at = time.monotonic()
        self._maintenance_checked_at = -math.inf

    async def __call__(self, samples: Sequence[Sample]) -> None:
        new = await self._prepare({s.asset_id for s in samples})
        if new or time.monotonic() - self._maintenance_checked_at > self.maintenance_every_s:
            await self._apply_maintenance(sorted(self._restored))
        result = self._score(samples)
        detections = []
        async with self._pool.connection() as conn, conn.transaction():
            await maintenance_store.write_scores(conn, result.scores)
            for alert in result.alerts:
                alert_id = await maintenance_store.record_alert(conn, alert)
                order = await open_preventive_order(conn, alert=alert, alert_id=alert_id)
                detections.append(Detection(alert, alert_id, order))
            for cleared in result.cleared:
                await maintenance_store.clear_open_alert(
                    conn, asset_id=cleared.asset_id, failure_mode=cleared.failure_mode, at=cleared.cleared_at
                )
        self.alerts += len(detections)
        self.orders += sum(d.order is not None for d in detections)
        if self._on_detection:
            for detection in detections:
                self._on_detection(detection)
        if time.monotonic() - self._checkpointed_at > self.checkpoint_every_s:
            await self.checkpoint()

    def _score(self, samples: Sequence[Sample]) -> MonitorResult:
        """Score the batch asset by asset: one whose detector fails starts afresh instead of stopping the others."""
        result = MonitorResult()
        by_asset: dict[str, list[Sample]] = defaultdict(list)
        for sample in samples:
            by_asset[sample.asset_id].append(sample)
        for asset, own in by_asset.items():
            try:
                part = self._monitor.process(own, self._models)
            except Exception:
                log.exception("the detector of %s failed; it learns %s afresh from now on", asset, asset)
                self._monitor.rebaseline(asset)
                continue
            result.scores.extend(part.scores)
            result.alerts.extend(part.alerts)
            result.cleared.extend(part.cleared)
        return result

    async def checkpoint(self) -> None:
        """Save every asset's detector state."""
        states = {asset: self._monitor.checkpoint(asset) for asset in self._restored}
        if states:
            async with self._pool.connection() as conn, conn.transaction():
                await maintenance_store.save_states(conn, states)
        self._checkpointed_at = time.monotonic()

    async def _apply_maintenance(self, assets: list[str]) -> None:
        """Learn afresh every asset on which work was completed after its baseline began; close its open alerts."""
        self._maintenance_checked_at = time.monotonic()
        async with self._pool.connection() as conn, conn.transaction():
            completed = await workorders.last_completed_by_asset(conn, asset_ids=assets)
            for asset, at in completed.items():
                if not self._monitor.maintained(asset, at):
                    continue
                self.rebaselined += 1
                for alert in await maintenance_store.open_alerts(conn, asset):
                    await maintenance_store.clear_alert(conn, alert.id, at)
                log.info("%s: work completed at %s, its detector learns the asset afresh", asset, at.isoformat())

    async def _prepare(self, assets: set[str]) -> set[str]:
        """Restore the detector state of the assets not seen here before; those assets."""
        new = assets - self._restored
        if not new:
            return new
        async with self._pool.connection() as conn:
            if self._monitor is None:
                self._monitor = ConditionMonitor(limits=await maintenance_store.load_limits(conn))
            for device in await telemetry_store.get_devices(conn, asset_ids=sorted(new)):
                self._models[device.asset_id] = device.model
            for asset, state in (await maintenance_store.load_states(conn, sorted(new))).items():
                try:
                    self._monitor.restore(asset, state)
                except StateRejected as exc:
                    log.warning("%s: %s learns afresh", exc, asset)
        self._restored |= new
        return new
