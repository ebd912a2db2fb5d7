"""Agent config: defaults, the shipped TOML, unknown keys and bad values rejected, pushed overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.miners.plugins.motion import MotionConfig
from edge_agent.settings import DEFAULT_CONFIG_PATH, AgentConfig, ConfigError, load_config, merge_config


def test_none_gives_defaults_with_every_miner() -> None:
    config = load_config(None)
    assert config == AgentConfig()
    assert set(config.miners) == {"audio", "motion", "proximity"}
    assert (config.clip.pre_roll_s, config.clip.post_roll_s, config.clip.chunk_size_bytes) == (
        10.0,
        5.0,
        262144,
    )


def test_shipped_default_file_documents_exactly_the_defaults() -> None:
    assert load_config(DEFAULT_CONFIG_PATH) == AgentConfig()


def test_partial_file_keeps_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("[fusion]\ncooldown_s = 3.0\n[miners.motion]\nuse_accel = false\n")
    config = load_config(path)
    assert config.fusion.cooldown_s == 3.0
    assert config.fusion.enter_threshold == AgentConfig().fusion.enter_threshold
    assert isinstance(config.miners["motion"], MotionConfig)
    assert config.miners["motion"].use_accel is False
    assert config.miners["audio"] == AgentConfig().miners["audio"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("bogus = 1\n", "bogus"),
        ("[fusion]\nenter_treshold = 0.4\n", "enter_treshold"),
        ("[miners.motion]\njolt_hihg = 0.2\n", "jolt_hihg"),
        ("[miners.lidar]\nenabled = true\n", "lidar"),
        ("[fusion]\nenter_threshold = 0.2\nexit_threshold = 0.4\n", "exit_threshold"),
        ("[clip]\npre_roll_s = -1\n", "pre_roll_s"),
        ("[recorder]\nsegment_sec = 10\n", "segment_sec"),
        ('[recorder]\nencode_preset = "placebo"\n', "encode_preset"),
        ("[recorder]\nquota_bytes = 1000\n", "quota_bytes"),
        ('[fusion]\nalone_miners = ["audoi"]\n', "alone_miners names unknown miner"),
        ('[fusion]\nprecursors = ["proximty"]\n', "precursors names unknown miner"),
        ('[fusion]\nalone_miners = ["proximity"]\n', "precursor cannot be in alone_miners"),
        ("[fusion\n", "TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_merge_applies_a_pushed_subset_and_validates_it() -> None:
    merged = merge_config(
        AgentConfig(), {"fusion": {"max_incidents_per_hour": 2}, "miners": {"audio": {"enabled": False}}}
    )
    assert merged.fusion.max_incidents_per_hour == 2
    assert merged.miners["audio"].enabled is False
    assert merged.miners["motion"] == AgentConfig().miners["motion"]
    with pytest.raises(ConfigError, match="nope"):
        merge_config(AgentConfig(), {"fusion": {"nope": 1}})
