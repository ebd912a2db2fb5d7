"""Device registry: who may report incidents, with which Ed25519 key, and when we last heard from it."""
