"""Miners: plugins that turn frames and audio into incident scores over time."""

from edge_agent.miners.base import AUDIO, VIDEO, Miner, MinerConfig, ScoreTrack
from edge_agent.miners.ego_motion import EgoMotion, EgoMotionEstimator
from edge_agent.miners.registry import build_miners, default_miner_configs, miner_classes

__all__ = [
    "AUDIO",
    "VIDEO",
    "EgoMotion",
    "EgoMotionEstimator",
    "Miner",
    "MinerConfig",
    "ScoreTrack",
    "build_miners",
    "default_miner_configs",
    "miner_classes",
]
