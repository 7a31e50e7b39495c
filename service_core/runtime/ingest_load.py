"""The ingest benchmark's load: publishers and a bare subscriber, each a process (``python -m ...ingest_load``).

``publish``: simulated EM-75 motors on their own topics, on schedule or flat out. ``subscribe``: a bare paho
subscriber that registers a persistent session, or comes back to it and times how fast it drains. Each prints one
JSON line when done, which ``service_core.runtime.ingest_bench`` reads.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import uuid

from service_core.runtime.ingest_bench import MODEL, ROOT, SITE

_SAMPLE = '{"ts": "%s", "seq": %d, "metrics": %s}'  # what json.dumps makes of a sample, built faster


def _publish(url: str, assets: str, rate_hz: str, duration_s: str, qos: str, batch: str, start: str,
             pacing: str) -> None:
    """Publish each asset's samples on schedule (``paced``: a message when its last sample is taken, as a device
    sends what it has collected) or as fast as possible (``flat-out``); print {"per_asset", "acked", "lag_s"}."""
    import paho.mqtt.client as mqtt

    from gateway.mqtt import BrokerAddress
    from simulators.device import timestamp
    from simulators.equipment import generate

    address = BrokerAddress.parse(url)
    ids = assets.split(",")
    rate, duration, q, per_message, t0 = float(rate_hz), float(duration_s), int(qos), int(batch), float(start)
    # a minute of a motor's readings, replayed: the values are real, generating them live would cost the CPU
    # the gateway is measured on
    cycle = [json.dumps(metrics) for _, metrics in generate(MODEL, seconds=60, rate_hz=rate, seed=1)]
    acked = 0

    def on_publish(client, userdata, mid, reason_code, properties):
        nonlocal acked
        acked += 1

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    # paho walks its whole in-flight window on every PUBACK (Client._update_inflight), so a window of thousands
    # turns a moment's delay into a publisher spinning at a full core; a device's window is small (paho's default
    # is 20), and 100 lets one process publish for 250 devices
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(address.host, address.port)
    # One thread: publish() writes to the socket itself and PUBACKs are read while waiting for the next tick. With
    # paho's network thread beside it, every message was handed between two threads (py-spy: about half the
    # publisher's CPU), CPU the gateway is measured on.
    topics = [f"{ROOT}/{SITE}/{a}/telemetry" for a in ids]
    messages = int(duration * rate / per_message)
    sent = [0] * len(ids)
    lag = 0.0
    for k in range(messages):
        due = t0 + (k * per_message + per_message - 1) / rate
        while pacing != "flat-out" and (wait := due - time.time()) > 0:
            client.loop(timeout=min(wait, 0.05))
        lag = max(lag, time.time() - due)
        # every device takes its samples on the same schedule: one timestamp a sample for all of them
        stamps = [timestamp(t0 + (k * per_message + j) / rate) for j in range(per_message)]
        for i, topic in enumerate(topics):
            samples = [_SAMPLE % (stamps[j], k * per_message + j, cycle[(k * per_message + j + i) % len(cycle)])
                       for j in range(per_message)]
            client.publish(topic, samples[0] if per_message == 1 else f"[{', '.join(samples)}]", qos=q)
            sent[i] += 1
        client.loop(timeout=0)
    deadline = time.time() + 120
    while acked < sum(sent) and q > 0 and time.time() < deadline:
        client.loop(timeout=0.05)
    client.disconnect()
    print(json.dumps({"per_asset": dict(zip(ids, sent, strict=True)), "acked": acked, "lag_s": lag}), flush=True)


def _subscribe(url: str, qos: str, client_id: str, mode: str, total: str = "0") -> None:
    """``register``: subscribe with a persistent session and leave. ``count``: come back to that session, parse and
    count ``total`` telemetry messages (or stop after 10 s without one), then print {"count", "marks"}: when the
    messages 10 % and 90 % of the way arrived. ``live``: subscribe, print {"ready": true} once subscribed, then
    count as ``count`` does."""
    import paho.mqtt.client as mqtt

    from gateway.mqtt import BrokerAddress

    address = BrokerAddress.parse(url)
    expected = int(total)
    first, last = max(1, math.ceil(0.1 * expected)), max(1, math.floor(0.9 * expected))
    count = 0
    marks: list[tuple[int, float]] = []
    heard = time.time()

    def on_message(client, userdata, message):
        nonlocal count, heard
        json.loads(message.payload)
        count += 1
        heard = time.time()
        if count in (first, last):
            marks.append((count, heard))

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.on_message = on_message
    client.connect(address.host, address.port)
    if mode in ("register", "live"):
        client.subscribe(f"{ROOT}/+/+/telemetry", qos=int(qos))
        client.loop(1.0)
        client.loop(0.5)
    if mode == "register":
        client.disconnect()
        return
    if mode == "live":
        print(json.dumps({"ready": True}), flush=True)
    client.loop_start()
    while count < expected and time.time() - heard < 10:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    print(json.dumps({"count": count, "marks": marks}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service_core.runtime.ingest_load")
    parser.add_argument("role", choices=["publish", "subscribe"])
    parser.add_argument("args", nargs="*")
    args = parser.parse_args(argv)
    (_publish if args.role == "publish" else _subscribe)(*args.args)


if __name__ == "__main__":
    main()
