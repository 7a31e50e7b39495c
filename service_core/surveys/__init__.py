"""Customer surveys after a completed order: sending, reminding, answering, and service recovery for detractors."""
