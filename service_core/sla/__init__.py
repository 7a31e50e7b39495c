"""Service levels: business calendars, SLA policies and clocks, escalation rules and what they fire."""
