"""The torch models: small enough to run at 10 Hz beside a video decoder on one core."""

from __future__ import annotations

import torch
from torch import nn


class WindowMLP(nn.Module):
    """A window of per-tick features, flattened, to sigmoid probabilities."""

    def __init__(self, ticks: int, features: int, outputs: int = 1, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(ticks * features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden // 2),
            nn.ReLU(),
            nn.Linear(hidden // 2, outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MeanOf(nn.Module):
    """Nets of one shape trained from different seeds, their probabilities averaged, exported as one
    graph (one onnxruntime call). A small net trained on few real examples lands on quite different
    decisions from one seed to the next; the mean of several is steadier than any one of them."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(0)


class LogMelCNN(nn.Module):
    """One second of log-mel (1 x 50 x 32) to the four sound classes."""

    def __init__(self, outputs: int = 4) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 24, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(24, outputs)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))
