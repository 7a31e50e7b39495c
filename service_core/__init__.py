"""Service core: assets, engineers, work orders, dispatch and the fleetcare runtime."""
