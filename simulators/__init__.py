"""Simulated equipment that publishes telemetry over MQTT like a real device.

``equipment``  pump and motor physics, and ``generate`` for samples without a broker
``faults``     degradation modes, ``FaultSpec`` and ``parse_fault``
``operation``  operating points, duty cycles, ambient
``device``     one asset on the broker (status, Last Will, telemetry)
``fleet``      many devices on one scheduler thread, with the faults' ground truth
``cli``        ``fleetcare simulate``
"""
