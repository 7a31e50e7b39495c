"""Telemetry store: readings, device registry and the queries the rest of fleetcare reads."""
