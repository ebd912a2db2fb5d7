"""Reading a clip into a scene: scenario, severity probabilities, narrative, evidence, facts.

One interface (``SceneReader.read(clip, manifest) -> SceneReading``), two backends chosen by
ASSESSMENT_BACKEND (``scene_reader_for``): ``local``, the embedded INT8 ONNX model (local.py), and
``openai``, any OpenAI-compatible video-LLM endpoint (openai_compat.py). frames.py decodes only the
window around the peak; features.py is the model's input, shared with cloud_api/training.
"""

from cloud_api.domain.assessments.scene.backends import BACKENDS, scene_reader_for
from cloud_api.domain.assessments.scene.frames import physical_at_peak
from cloud_api.domain.assessments.scene.local import LocalSceneReader
from cloud_api.domain.assessments.scene.openai_compat import OpenAISceneReader
from cloud_api.domain.assessments.scene.reading import (
    DecodedMotion,
    FactSeen,
    SceneReader,
    SceneReading,
    SceneSignals,
)

__all__ = [
    "BACKENDS",
    "DecodedMotion",
    "FactSeen",
    "LocalSceneReader",
    "OpenAISceneReader",
    "SceneReader",
    "SceneReading",
    "SceneSignals",
    "physical_at_peak",
    "scene_reader_for",
]
