"""ONNX export, static INT8 quantization (QDQ, calibration reader) and FP32-vs-INT8 accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class WindowCalibration(CalibrationDataReader):
    """Feeds real training inputs one at a time so activation ranges match what the miner will see."""

    def __init__(self, name: str, inputs: np.ndarray) -> None:
        self._batches = iter([{name: x[None].astype(np.float32)} for x in inputs])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def export_fp32(model: torch.nn.Module, example: np.ndarray, out: Path) -> Path:
    model.eval()
    torch.onnx.export(
        model,
        (torch.from_numpy(example[None].astype(np.float32)),),
        str(out),
        input_names=["x"],
        output_names=["p"],
        dynamic_axes={"x": {0: "batch"}, "p": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    return out


def quantize_int8(fp32: Path, out: Path, calibration: np.ndarray) -> Path:
    quantize_static(
        str(fp32),
        str(out),
        WindowCalibration("x", calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
    )
    return out


def predict(model: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"x": x[i : i + 512]})[0] for i in range(0, len(x), 512)])


def metrics(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Per output column: balanced accuracy at 0.5 and ROC AUC (rank statistic)."""
    out: dict[str, float] = {}
    for c in range(y.shape[1]):
        pos, neg = p[y[:, c] > 0.5, c], p[y[:, c] <= 0.5, c]
        if len(pos) == 0 or len(neg) == 0:
            continue
        tpr, tnr = float((pos >= 0.5).mean()), float((neg < 0.5).mean())
        ranks = np.argsort(np.argsort(np.concatenate([pos, neg]))) + 1
        auc = (ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))
        out[f"c{c}_balanced_acc"] = round(0.5 * (tpr + tnr), 4)
        out[f"c{c}_auc"] = round(float(auc), 4)
        out[f"c{c}_recall"] = round(tpr, 4)
        out[f"c{c}_specificity"] = round(tnr, 4)
    return out
