"""Condition monitoring: streaming anomaly detection per asset with river."""
