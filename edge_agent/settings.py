"""Agent configuration: a tree of msgspec Structs loaded from TOML, unknown keys rejected.

Every field has its default here and is documented in ``default_config.toml``. Miner sections are
typed by the plugin that owns them (``[miners.<kind>]``), so a typo in any key, or a miner that does
not exist, is an error at load time rather than a setting silently ignored on a vehicle.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

from edge_agent.fusion.engine import FusionConfig
from edge_agent.health.camera import CameraConfig
from edge_agent.miners.base import MinerConfig
from edge_agent.miners.registry import default_miner_configs, miner_classes
from edge_agent.record.config import RecorderConfig
from edge_agent.source.live import SourceConfig

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.toml")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the offending key."""


class AnalysisConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    width: Annotated[int, msgspec.Meta(ge=64, le=1920)] = 320  # frames are decoded down to this width
    timeline_hz: Annotated[float, msgspec.Meta(gt=0, le=100)] = 10.0  # rate of every score timeline
    motion_width: Annotated[int, msgspec.Meta(ge=64)] = 160  # camera motion is tracked at this width
    cut_inlier_ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = (
        0.15  # fewer corners follow the camera: a cut
    )
    # lower thumbnail correlation: a cut (a lead car looming in at a rear-end reads 0.31-0.48)
    cut_correlation: Annotated[float, msgspec.Meta(ge=-1, le=1)] = 0.3
    burst_s: Annotated[float, msgspec.Meta(ge=0, le=2)] = 1.0  # media mined at a time (cache locality)


class ClipConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pre_roll_s: Annotated[float, msgspec.Meta(ge=0)] = 10.0
    post_roll_s: Annotated[float, msgspec.Meta(ge=0)] = 5.0
    chunk_size_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 262144
    footage_max_s: Annotated[float, msgspec.Meta(gt=0)] = 300.0  # longest footage request served


class OutboxConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    quota_bytes: Annotated[int, msgspec.Meta(ge=1_048_576)] = 2 * 1024**3  # clip bytes held before eviction


class PublisherConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    ack_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 20.0  # unanswered this long: re-send the manifest
    reconnect_min_s: Annotated[int, msgspec.Meta(ge=1)] = 1  # first reconnect wait (doubles, plus jitter)
    reconnect_max_s: Annotated[int, msgspec.Meta(ge=1)] = 60  # longest reconnect wait
    session_expiry_s: Annotated[int, msgspec.Meta(ge=0)] = 86_400  # broker keeps acks/commands this long


class HealthConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    heartbeat_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0


class AgentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    analysis: AnalysisConfig = AnalysisConfig()
    miners: dict[str, MinerConfig] = msgspec.field(default_factory=default_miner_configs)
    fusion: FusionConfig = FusionConfig()
    clip: ClipConfig = ClipConfig()
    outbox: OutboxConfig = OutboxConfig()
    publisher: PublisherConfig = PublisherConfig()
    health: HealthConfig = HealthConfig()
    source: SourceConfig = SourceConfig()
    recorder: RecorderConfig = RecorderConfig()
    camera: CameraConfig = CameraConfig()


def _miner_configs(table: Any, where: str) -> dict[str, MinerConfig]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: [miners] must be a table of [miners.<kind>] sections")
    known = miner_classes()
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown miner(s) {unknown}; known: {sorted(known)}")
    configs = default_miner_configs()
    for kind, section in table.items():
        try:
            configs[kind] = msgspec.convert(section, known[kind].config_type)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{where}: [miners.{kind}] {exc}") from None
    return configs


def parse_config(data: Mapping[str, Any], where: str = "config") -> AgentConfig:
    """Build an AgentConfig from a nested mapping (parsed TOML or a pushed config)."""
    rest = {k: v for k, v in data.items() if k != "miners"}
    try:
        config = msgspec.convert(rest, AgentConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    known = set(miner_classes())
    for key in ("precursors", "alone_miners"):  # a misspelt miner here would silently change what opens one
        unknown = sorted(getattr(config.fusion, key) - known)
        if unknown:
            raise ConfigError(
                f"{where}: [fusion] {key} names unknown miner(s) {unknown}; known: {sorted(known)}"
            )
    return msgspec.structs.replace(config, miners=_miner_configs(data.get("miners", {}), where))


def load_config(path: str | Path | None) -> AgentConfig:
    """Settings from a TOML file; ``None`` gives the built-in defaults."""
    if path is None:
        return AgentConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))


def deep_merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_config(config: AgentConfig, overrides: Mapping[str, Any]) -> AgentConfig:
    """``config`` with the keys in ``overrides`` replaced (a ConfigPush), validated like a file."""
    return parse_config(deep_merge(msgspec.to_builtins(config), overrides), "pushed config")
