"""Fault codes devices report about themselves, as service requests (channel ``device``)."""

from __future__ import annotations

import json

from service_core.intake.reports import Report, priority_for_severity
from telemetry.readings import DeviceFault

# an info fault is kept in telemetry only; these open (or join) a request
ACTIONABLE = frozenset({"warning", "critical"})
DEVICE_ACTOR_PREFIX = "device:"


def external_id_of(fault: DeviceFault) -> str:
    """The fault's identity: a redelivery or a resend of it is the same asset, code and instant."""
    return f"{fault.asset_id}/{fault.code}@{fault.ts.isoformat()}"


def report_of(fault: DeviceFault) -> Report:
    """The request a warning or critical fault asks for."""
    body = {"asset_id": fault.asset_id, "ts": fault.ts.isoformat(), "code": fault.code, "severity": fault.severity,
            "message": fault.message}
    subject = f"{fault.severity.capitalize()} fault {fault.code}" + (f": {fault.message}" if fault.message else "")
    return Report(
        channel="device",
        asset_id=fault.asset_id,
        subject=subject if len(subject) <= 200 else subject[:197] + "...",
        description=f"The device reported fault {fault.code} ({fault.severity}) at {fault.ts.isoformat()}."
        + (f"\n{fault.message}" if fault.message else ""),
        fault_code=fault.code,
        priority=priority_for_severity(fault.severity),
        actor=DEVICE_ACTOR_PREFIX + fault.asset_id,
        external_id=external_id_of(fault),
        original=json.dumps(body).encode(),
        original_type="application/json",
    )
