"""On the vehicle: capture -> mine -> fuse -> cut clip -> durable outbox -> MQTT; health."""

__version__ = "0.1.0"
