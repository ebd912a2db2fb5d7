"""The committed INT8 ONNX models the miners run (see MODEL_CARD.md); trained by ``edge_agent.training``."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).parent


def model_path(name: str) -> Path:
    """``<name>.onnx`` in this package; a clear error where the model was never trained or shipped."""
    path = MODELS_DIR / f"{name}.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model missing; run `just train-models` to build it")
    return path


def shipped_models() -> list[Path]:
    """The INT8 models the agent runs (FP32 references are not shipped)."""
    return sorted(MODELS_DIR.glob("*-int8.onnx"))
