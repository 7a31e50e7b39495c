"""The detector in processes of its own, each one owning the assets whose name hashes to it.

The gateway's event loop is one core's worth of Python; scoring every reading would take a fifth of it. So a
gateway can hand its committed samples to detector processes instead: each is a :class:`DetectionStage` with a
pool of its own, fed over a pipe, and owns a fixed share of the assets (a stable hash of the asset's name), so
every reading of an asset reaches the same detector, in order. A detector restores an asset's state from its
checkpoint the first time it sees it, so a restarted or re-sharded detector carries on where the last left off.

The pipe is the backpressure: a send waits until the detector has taken the batch before, so a slow detector
slows the gateway's acknowledgements instead of queueing without bound. A detector that dies is started again;
the batch it was sent is sent to its successor.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import zlib
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection

from service_core.db import create_pool
from service_core.runtime.detection import DetectionStage
from telemetry.readings import Sample

log = logging.getLogger(__name__)

_Wire = tuple[str, datetime, dict[str, float], int | None]  # a Sample as it crosses the pipe: plain tuples pickle fast


def shard_of(asset_id: str, shards: int) -> int:
    """The detector that owns ``asset_id``: the same in every process and on every run (unlike ``hash``)."""
    return zlib.crc32(asset_id.encode()) % shards


class DetectorProcesses:
    """A sample processor (see ``gateway.worker.Gateway``) that scores in ``count`` child processes."""

    def __init__(self, database_url: str, count: int = 1) -> None:
        if count < 1:
            raise ValueError("at least one detector process is needed")
        self.restarts = 0
        self._database_url = database_url
        self._context = multiprocessing.get_context("spawn")
        self._children: list[tuple[multiprocessing.process.BaseProcess, Connection] | None] = [None] * count

    async def start(self) -> None:
        for index in range(len(self._children)):
            await asyncio.to_thread(self._spawn, index)

    async def __call__(self, samples: Sequence[Sample]) -> None:
        shares: list[list[_Wire]] = [[] for _ in self._children]
        count = len(self._children)
        for s in samples:
            shares[shard_of(s.asset_id, count) if count > 1 else 0].append((s.asset_id, s.ts, s.metrics, s.seq))
        await asyncio.gather(*(self._send(index, share) for index, share in enumerate(shares) if share))

    async def stop(self) -> None:
        """Ask every detector to checkpoint its assets and exit; wait for them."""
        await asyncio.gather(*(asyncio.to_thread(self._stop, index) for index in range(len(self._children))))

    async def _send(self, index: int, share: list[_Wire]) -> None:
        for _attempt in (1, 2):
            child = self._children[index] or await asyncio.to_thread(self._spawn, index)
            process, pipe = child
            try:
                await asyncio.to_thread(pipe.send, share)
                return
            except OSError as exc:  # the detector died: its pipe is broken
                log.error("detector %d (pid %s) is gone (%s, exit code %s); starting another", index, process.pid,
                          exc, process.exitcode)
                await asyncio.to_thread(self._reap, index)
                self.restarts += 1
        log.error("detector %d failed twice in a row; %d samples not scored", index, len(share))

    def _spawn(self, index: int) -> tuple[multiprocessing.process.BaseProcess, Connection]:
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=serve, args=(self._database_url, receiver), name=f"fleetcare-detector-{index}", daemon=True
        )
        process.start()
        receiver.close()
        self._children[index] = (process, sender)
        return process, sender

    def _stop(self, index: int) -> None:
        child = self._children[index]
        if child is None:
            return
        process, pipe = child
        try:
            pipe.send(None)
        except OSError:
            pass
        process.join(timeout=30)
        self._reap(index)

    def _reap(self, index: int) -> None:
        child = self._children[index]
        self._children[index] = None
        if child is None:
            return
        process, pipe = child
        pipe.close()
        if process.is_alive():
            process.kill()
        process.join()


async def _receive(receiver: Connection) -> list[_Wire] | None:
    """The next share, once the pipe has something (waiting in the event loop: a thread blocked in ``recv`` could
    not be cancelled, and would keep the process from exiting)."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(receiver.fileno(), lambda: readable.done() or readable.set_result(None))
    try:
        await readable
    finally:
        loop.remove_reader(receiver.fileno())
    return receiver.recv()


def serve(database_url: str, receiver: Connection) -> None:
    """A detector process: score what arrives until told to stop (``None``) or the gateway is gone."""
    # Ctrl-C reaches the whole process group; the gateway stops its detectors itself, after its last batch
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_score(database_url, receiver))


async def _score(database_url: str, receiver: Connection) -> None:
    pool = create_pool(database_url, min_size=1, max_size=2, name="detector")
    await pool.open(wait=True)
    stage = DetectionStage(pool)
    try:
        while True:
            try:
                share = await _receive(receiver)
            except EOFError:  # the gateway is gone without a word
                break
            if share is None:
                break
            try:
                await stage([Sample(*wire) for wire in share])
            except Exception:  # e.g. the database is away: these samples go unscored, the next are scored
                log.exception("scoring %d samples failed", len(share))
    finally:
        await stage.checkpoint()
        await pool.close()
