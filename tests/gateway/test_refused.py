"""A message the database refuses (not the database being away) is dead-lettered with the database's reason; the
rest of its batch is stored and the worker goes on. The refusal comes from a trigger the test adds: the kind of
thing a constraint or an out-of-range value does."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.mqtt_tools import publish

REFUSE = """
create function telemetry.refuse_666() returns trigger language plpgsql as $$
begin
    if new.value = 666 then
        raise exception 'value % refused', new.value using errcode = '22003';
    end if;
    return new;
end $$;
create trigger refuse_666 before insert on telemetry.readings for each row execute function telemetry.refuse_666();
"""


def _body(seq: int, ts: datetime, flow: float) -> str:
    return json.dumps({"ts": ts.isoformat(), "seq": seq, "metrics": {"flow_m3h": flow, "pressure_bar": 6.0}})


@pytest.mark.asyncio
async def test_a_message_the_database_refuses_is_dead_lettered_and_the_rest_of_its_batch_stored(
    running_gateway, pool, mqtt_url, topic_root
):
    async with pool.connection() as conn:
        await conn.execute(REFUSE)
    now = datetime.now(UTC).replace(microsecond=0)
    topic = f"{topic_root}/site-1/pump-001/telemetry"
    flows = [100.0, 101.0, 666.0, 102.0, 103.0]
    messages = [(topic, _body(i, now - timedelta(seconds=10 - i), flow)) for i, flow in enumerate(flows)]
    await asyncio.to_thread(publish, mqtt_url, messages)
    await running_gateway.wait_for(len(messages))

    async with pool.connection() as conn:
        cur = await conn.execute("select seq from telemetry.readings where metric = 'flow_m3h' order by seq")
        assert [r[0] for r in await cur.fetchall()] == [0, 1, 3, 4]
        cur = await conn.execute("select topic, payload, reason from gateway.dead_letters")
        letters = await cur.fetchall()
    assert len(letters) == 1
    assert letters[0][0] == topic and json.loads(letters[0][1])["seq"] == 2
    assert "refused by the database" in letters[0][2] and "value 666 refused" in letters[0][2]

    later = [(topic, _body(5, now, 104.0))]  # the worker goes on
    await asyncio.to_thread(publish, mqtt_url, later)
    await running_gateway.wait_for(len(messages) + 1)
    assert running_gateway.gateway.stats.dead_letters == 1
