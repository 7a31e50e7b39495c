"""``fleetcare bench detector``: every model of the fleet is scored, timed and its state measured."""

from __future__ import annotations

from maintenance.equipment import PROFILES
from service_core.runtime import detector_bench
from service_core.runtime.detector_bench import UNKNOWN_METRICS, UNKNOWN_MODEL


def test_the_fleet_mixes_pumps_motors_and_a_model_without_a_profile():
    models = list(detector_bench.fleet(10).values())
    assert models.count("CP-200") == models.count("EM-75") == 4 and models.count(UNKNOWN_MODEL) == 2
    assert UNKNOWN_MODEL not in PROFILES and len(UNKNOWN_METRICS) == 8


def test_every_model_gets_a_positive_rate_and_a_state_size():
    work = detector_bench.workload(assets=5, seconds=60, warm_up_s=200, batch=50)
    assert {len(s.metrics) for batch in work.timed for s in batch} == {5, 6, 8}
    result = detector_bench.run(work)

    per_model = {m.model: m for m in result.per_model}
    assert set(per_model) == {"CP-200", "EM-75", UNKNOWN_MODEL}
    for m in per_model.values():
        assert m.samples == 61 * m.assets  # 200..260 s, every asset once a second
        assert m.readings == m.samples * {"CP-200": 6, "EM-75": 5, UNKNOWN_MODEL: 8}[m.model]
        assert m.cpu_s > 0 and m.wall_s > 0 and m.readings_per_cpu_s > 0 and m.us_per_reading > 0
        assert m.state_bytes_max >= m.state_bytes_mean > 1000
    assert result.total.readings == sum(m.readings for m in per_model.values())
    assert "readings/s per core" in detector_bench.report(result)
