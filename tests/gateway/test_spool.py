"""The disk spool: batches kept in order, durably, within their bound, and never silently dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import SpoolCorrupt
from gateway.mqtt import Delivery
from gateway.spool import Spool

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _batch(n: int, *, first: int = 0) -> list[Delivery]:
    return [Delivery(f"fleet/site-1/pump-{i:03d}/telemetry", f'{{"seq": {i}}}'.encode(), i + 1, 1, False)
            for i in range(first, first + n)]


def _plain(deliveries: list[Delivery]) -> list[tuple[str, bytes]]:
    return [(d.topic, d.payload) for d in deliveries]


def test_batches_come_back_oldest_first_with_their_receipt_time_and_go_once_removed(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    first, second = _batch(3), _batch(2, first=3)
    assert spool.add(first, AT) and spool.add(second, AT + timedelta(seconds=1))
    assert len(spool) == 2 and spool.bytes == sum(f.stat().st_size for f in tmp_path.iterdir())

    oldest = spool.oldest()
    assert _plain(oldest.deliveries) == _plain(first) and oldest.received_at == AT
    assert all(d.qos == 0 and d.mid == 0 for d in oldest.deliveries)  # acknowledged when spooled: never again
    spool.remove(oldest)
    assert _plain(spool.oldest().deliveries) == _plain(second)
    spool.remove(spool.oldest())
    assert spool.oldest() is None and len(spool) == 0 and spool.bytes == 0
    assert list(tmp_path.iterdir()) == []


def test_a_full_spool_refuses_a_batch_and_writes_nothing_of_it(tmp_path):
    spool = Spool(tmp_path, max_bytes=400)
    assert spool.add(_batch(3), AT)
    used = spool.bytes
    assert not spool.add(_batch(20), AT)
    assert spool.bytes == used and len(spool) == 1 and len(list(tmp_path.iterdir())) == 1


def test_what_was_spooled_survives_a_restart_and_a_half_written_file_is_discarded(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.add(_batch(2), AT)
    spool.add(_batch(2, first=2), AT)
    (tmp_path / "99999999999999999999-1-000001.tmp").write_bytes(b"half a batch")  # a crash while writing

    again = Spool(tmp_path, max_bytes=1 << 20)
    assert len(again) == 2 and again.bytes == spool.bytes
    assert not list(tmp_path.glob("*.tmp"))
    assert _plain(again.oldest().deliveries) == _plain(_batch(2))


def test_an_unreadable_file_is_reported_and_set_aside_with_its_bytes(tmp_path):
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.add(_batch(2), AT)
    path = next(tmp_path.glob("*.batch"))
    path.write_bytes(path.read_bytes()[:-3])  # torn by something outside the spool
    with pytest.raises(SpoolCorrupt) as caught:
        spool.oldest()
    aside = spool.set_aside(caught.value.path)
    assert aside.exists() and aside.suffix == ".corrupt" and len(spool) == 0 and spool.bytes == 0


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(st.tuples(st.text(min_size=1, max_size=40), st.binary(max_size=300)),
                                 min_size=1, max_size=5), min_size=1, max_size=5))
def test_any_topics_and_payloads_come_back_byte_for_byte(tmp_path_factory, batches):
    spool = Spool(tmp_path_factory.mktemp("spool"), max_bytes=1 << 20)
    for batch in batches:
        assert spool.add([Delivery(t, p, 1, 1, False) for t, p in batch], AT)
    for batch in batches:
        oldest = spool.oldest()
        assert _plain(oldest.deliveries) == batch
        spool.remove(oldest)
    assert spool.oldest() is None
