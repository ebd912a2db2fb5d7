"""The local scene model: a small CNN over frame changes and stills around the peak, two heads.

About 55 k parameters: three strided convolutions (36x64 -> 5x8), a pool to 5 rows x 2 columns
(where in the picture a change happens matters: the road ahead vs the sky, near vs far), one hidden
layer, then severity and scenario heads.
The exported graph ends in softmax with the fitted temperatures baked in.
"""

from __future__ import annotations

import torch
from torch import nn

from cloud_api.domain.assessments.scene import features
from cloud_api.training.scenarios import TRAINED_SCENARIOS
from shared_models.enums import SEVERITY_ORDER


class SceneNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(features.CHANNELS, 24, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(24, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 48, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((5, 2)),
            nn.Flatten(),
            nn.Linear(48 * 10, 64),
            nn.ReLU(),
        )
        self.severity = nn.Linear(64, len(SEVERITY_ORDER))
        self.scenario = nn.Linear(64, len(TRAINED_SCENARIOS))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.severity(h), self.scenario(h)


class Exported(nn.Module):
    """What ships: probabilities, each head divided by its fitted temperature before the softmax."""

    def __init__(self, net: SceneNet, severity_t: float, scenario_t: float) -> None:
        super().__init__()
        self.net = net
        self.severity_t, self.scenario_t = severity_t, scenario_t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        severity, scenario = self.net(x)
        return (
            torch.softmax(severity / self.severity_t, dim=1),
            torch.softmax(scenario / self.scenario_t, dim=1),
        )
