"""``mqtt://host:port`` broker URLs (plain TCP; TLS is not wired yet)."""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

DEFAULT_PORT = 1883


class BrokerAddress(msgspec.Struct, frozen=True):
    host: str
    port: int = DEFAULT_PORT


def parse_broker_url(url: str) -> BrokerAddress:
    """Raise ValueError for anything but ``mqtt://host[:port]`` so a typo fails at start, not on connect."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt":
        raise ValueError(f"broker URL must start with mqtt:// (got {url!r})")
    if not parts.hostname:
        raise ValueError(f"broker URL has no host: {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"broker URL takes only host and port: {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in broker URL {url!r}: {exc}") from None
    return BrokerAddress(host=parts.hostname, port=port or DEFAULT_PORT)
