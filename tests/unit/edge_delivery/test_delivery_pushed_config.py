"""Pushed config on disk: accumulated, re-applied at start, ignored (not fatal) once it no longer fits."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge_agent.commands import PushedConfig
from edge_agent.settings import AgentConfig


def test_pushes_accumulate_and_reapply_after_restart(tmp_path: Path) -> None:
    store = PushedConfig(tmp_path / "pushed.json")
    store.add({"fusion": {"cooldown_s": 3.0}})
    store.add({"fusion": {"enter_threshold": 0.6}, "health": {"heartbeat_interval_s": 5.0}})
    config = PushedConfig(tmp_path / "pushed.json").applied_to(AgentConfig())
    assert (config.fusion.cooldown_s, config.fusion.enter_threshold) == (3.0, 0.6)
    assert config.health.heartbeat_interval_s == 5.0
    assert config.clip == AgentConfig().clip  # keys never pushed keep the file's values


def test_stale_overrides_are_logged_and_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "pushed.json").write_text('{"fusion": {"removed_key": 1}}')
    caplog.set_level(logging.INFO, logger="edge_agent")
    assert PushedConfig(tmp_path / "pushed.json").applied_to(AgentConfig()) == AgentConfig()
    assert "config.pushed_ignored" in caplog.text and "removed_key" in caplog.text
