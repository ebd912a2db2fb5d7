"""ASSESSMENT_BACKEND -> the scene reader: ``local`` (the embedded ONNX model, the default) or
``openai`` (an OpenAI-compatible video-LLM, with the local model as its fallback)."""

from __future__ import annotations

from cloud_api.domain.assessments.scene.local import LocalSceneReader
from cloud_api.domain.assessments.scene.openai_compat import OpenAISceneReader
from cloud_api.domain.assessments.scene.reading import SceneReader
from cloud_api.settings import Settings

BACKENDS = ("local", "openai")


def scene_reader_for(settings: Settings) -> SceneReader:
    if settings.assessment_backend not in BACKENDS:
        raise ValueError(f"ASSESSMENT_BACKEND={settings.assessment_backend!r} is not one of {list(BACKENDS)}")
    local = LocalSceneReader()
    return local if settings.assessment_backend == "local" else OpenAISceneReader(settings, local)
