"""Simulated equipment that publishes telemetry over MQTT like a real device."""
