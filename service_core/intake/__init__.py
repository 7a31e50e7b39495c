"""Intake: service requests from every channel, their 360° view, triage into work orders and duplicates."""
