"""Which assets may publish, cached in the gateway and refreshed from the device registry."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping


class DeviceRegistry:
    """asset_id → site_id of provisioned devices.

    Refreshed every ``max_age_s``, and early (at most every ``miss_refresh_s``)
    when an unknown asset shows up, so a newly provisioned asset is accepted
    within about a second without a query per message.
    """

    def __init__(
        self,
        load: Callable[[], Awaitable[Mapping[str, str]]],
        *,
        max_age_s: float = 30.0,
        miss_refresh_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age_s = max_age_s
        self.miss_refresh_s = miss_refresh_s
        self._load = load
        self._clock = clock
        self._sites: Mapping[str, str] = {}
        self._loaded_at = float("-inf")

    async def refresh(self) -> None:
        self._sites = await self._load()
        self._loaded_at = self._clock()

    async def prepare(self, asset_ids: set[str]) -> None:
        """Make sure the cache is fresh enough to judge these assets."""
        age = self._clock() - self._loaded_at
        if age > self.max_age_s or (age > self.miss_refresh_s and not asset_ids <= self._sites.keys()):
            await self.refresh()

    def site_of(self, asset_id: str) -> str | None:
        return self._sites.get(asset_id)
