"""MQTT ingest: manifests and chunks in, clips and claims out, acks back to the device."""
