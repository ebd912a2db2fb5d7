"""Broker URL parsing: the one accepted shape, and a clear error for the rest."""

from __future__ import annotations

import pytest

from edge_agent.mqtt_url import BrokerAddress, parse_broker_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", BrokerAddress("127.0.0.1", 1883)),
        ("mqtt://broker.example:2883", BrokerAddress("broker.example", 2883)),
        ("mqtt://broker.example", BrokerAddress("broker.example", 1883)),
        ("mqtt://broker.example/", BrokerAddress("broker.example", 1883)),
    ],
)
def test_parses(url: str, expected: BrokerAddress) -> None:
    assert parse_broker_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://host:1883", "mqtt://"),
        ("host:1883", "mqtt://"),
        ("mqtt://:1883", "no host"),
        ("mqtt://host:notaport", "bad port"),
        ("mqtt://host:70000", "bad port"),
        ("mqtt://user@host", "only host and port"),
        ("mqtt://host/topic", "only host and port"),
    ],
)
def test_rejects(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_broker_url(url)
