"""Service KPIs computed from the work-order event log, visits and survey answers."""
