"""Preventive maintenance plans: calendar, meter and condition triggers, and the orders they generate."""
