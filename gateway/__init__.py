"""MQTT ingest at the edge: validate every message, store readings, dead-letter the rest."""
