"""Fit the scene CNN, fit one temperature per head, export to ONNX and quantize it (static INT8, QDQ)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)
from torch import nn

from cloud_api.domain.assessments.scene import features
from cloud_api.training.dataset import Split
from cloud_api.training.model import Exported, SceneNet

log = logging.getLogger(__name__)

EPOCHS = 30
BATCH = 64
LR = 2e-3
SCENARIO_WEIGHT = 0.7
TEMPERATURES = np.round(np.arange(0.5, 3.01, 0.05), 2)


def fit(train: Split, val: Split, seed: int = 0) -> SceneNet:
    """Adam on both heads; mirrored frames as augmentation (the world has no handedness here);
    the epoch with the lowest validation loss is kept."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = SceneNet()
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    ce = nn.CrossEntropyLoss()
    x, sev, scen = (
        torch.from_numpy(train.x),
        torch.from_numpy(train.severity),
        torch.from_numpy(train.scenario),
    )
    best, best_state = math.inf, None
    for epoch in range(EPOCHS):
        started = time.perf_counter()
        net.train()
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            xb = x[idx]
            flip = torch.from_numpy(rng.uniform(size=len(idx)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            s_logits, c_logits = net(xb)
            loss = ce(s_logits, sev[idx]) + SCENARIO_WEIGHT * ce(c_logits, scen[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        val_loss = _loss(net, val)
        log.info(
            "training.epoch n=%d val_loss=%.4f seconds=%.1f", epoch, val_loss, time.perf_counter() - started
        )
        if val_loss < best:
            best, best_state = val_loss, {k: v.clone() for k, v in net.state_dict().items()}
    assert best_state is not None
    net.load_state_dict(best_state)
    return net.eval()


@torch.no_grad()
def logits(net: SceneNet, split: Split) -> tuple[np.ndarray, np.ndarray]:
    s, c = net(torch.from_numpy(split.x))
    return s.numpy(), c.numpy()


def _loss(net: SceneNet, split: Split) -> float:
    net.eval()
    s, c = logits(net, split)
    return _nll(s, split.severity) + SCENARIO_WEIGHT * _nll(c, split.scenario)


def _nll(z: np.ndarray, y: np.ndarray, t: float = 1.0) -> float:
    z = z / t
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def temperatures(net: SceneNet, val: Split) -> tuple[float, float]:
    """Temperature scaling per head on the validation split: softmax outputs that mean what they say."""
    s, c = logits(net, val)
    severity_t = min(TEMPERATURES, key=lambda t: _nll(s, val.severity, float(t)))
    scenario_t = min(TEMPERATURES, key=lambda t: _nll(c, val.scenario, float(t)))
    return float(severity_t), float(scenario_t)


def export(net: SceneNet, severity_t: float, scenario_t: float, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    sample = torch.zeros(1, features.CHANNELS, features.SMALL_SIZE[1], features.SMALL_SIZE[0])
    torch.onnx.export(
        Exported(net, severity_t, scenario_t).eval(),
        (sample,),
        str(out),
        input_names=["frames"],
        output_names=["severity", "scenario"],
        dynamic_axes={"frames": {0: "batch"}, "severity": {0: "batch"}, "scenario": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


class _Calibration(CalibrationDataReader):
    def __init__(self, x: np.ndarray) -> None:
        self._items = iter([{"frames": x[i : i + 1]} for i in range(len(x))])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)


def quantize(fp32: Path, int8: Path, calibration: np.ndarray) -> None:
    """Static INT8 in QDQ form (what TensorRT and the CPU EP both take), per-channel weights,
    activation ranges from the validation clips."""
    prepped = fp32.with_name(fp32.stem + ".prep.onnx")
    quant_pre_process(str(fp32), str(prepped))
    # The temperature division and the softmax stay in float: 8-bit probabilities would not sum to 1.
    heads = [n.name for n in onnx.load(str(prepped)).graph.node if n.op_type in {"Div", "Softmax"}]
    quantize_static(
        str(prepped),
        str(int8),
        _Calibration(calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=heads,
    )
    prepped.unlink()


def run_onnx(model: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), sess_options=so, providers=["CPUExecutionProvider"])
    out = [session.run(None, {"frames": x[i : i + 64]}) for i in range(0, len(x), 64)]
    return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])
