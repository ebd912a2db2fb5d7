"""The openai scene backend against a local HTTP server playing an OpenAI-compatible video-LLM
(POST /v1/chat/completions, the one accepted stand-in): good answers, malformed and
schema-violating JSON, timeouts, 5xx, refused schemas, and the fallback to the local model."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cloud_api.domain.assessments.scene import scene_reader_for
from cloud_api.domain.assessments.scene.openai_compat import OpenAISceneReader
from cloud_api.domain.assessments.taxonomy import Fact, Scenario
from cloud_api.settings import Settings
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import Severity

API_KEY = "sk-test-secret-0123456789"
GOOD = {
    "scenario": "rear_end_striking",
    "severity_probabilities": {"NONE": 0.05, "LOW": 0.15, "MEDIUM": 0.5, "HIGH": 0.3},
    "narrative": "The ego vehicle closes on a braking car and hits its rear.",
    "evidence": [{"t_s": 4.9, "what": "lead car's brake lights on, gap closing"}],
    "facts": [{"fact": "lead_vehicle_stopped", "t_s": [4.0, 4.5]}],
    "other_parties": ["car ahead"],
}
Reply = Callable[[], tuple[int, Any]]  # () -> (status, body); body dict/str, or a delay via "sleep"


def completion(answer: Any) -> dict[str, Any]:
    content = answer if isinstance(answer, str) else json.dumps(answer)
    return {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }


class FakeLLM:
    """Answers each POST with the next scripted reply (the last one repeats) and records requests."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, Any, float]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
                status, reply, delay = fake.replies[min(len(fake.requests), len(fake.replies)) - 1]
                if self.path != "/v1/chat/completions":
                    status, reply, delay = 404, {"error": "no such route"}, 0.0
                time.sleep(delay)
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def script(self, *replies: tuple[int, Any] | tuple[int, Any, float]) -> None:
        self.replies = [(r[0], r[1], r[2] if len(r) > 2 else 0.0) for r in replies]  # type: ignore[misc]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scene") / "impact.mp4"
    write_sample_drive(path, SampleDriveSpec(seed=11, impact_at_s=5.0, duration_s=8.0, width=640, height=360))
    return path


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def reader_for(llm: FakeLLM, **overrides: Any) -> OpenAISceneReader:
    settings = Settings(
        assessment_backend="openai",
        openai_base_url=llm.url,
        openai_model="qwen2.5-vl-7b",
        openai_api_key=API_KEY,
        openai_timeout_s=5.0,
        openai_retries=2,
        openai_retry_backoff_s=0.01,
    ).replace(**overrides)
    reader = scene_reader_for(settings)
    assert isinstance(reader, OpenAISceneReader)
    return reader


def test_a_well_formed_answer_becomes_the_reading(
    llm: FakeLLM, clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    llm.script((200, completion(GOOD)))
    reading = reader_for(llm).read(clip, None)
    assert reading.backend == "openai" and reading.model == "openai:qwen2.5-vl-7b"
    assert reading.fallback_reason is None
    assert reading.scenario is Scenario.REAR_END_STRIKING
    assert reading.severity_probabilities[Severity.MEDIUM] == pytest.approx(0.5)
    assert reading.facts[0].fact is Fact.LEAD_VEHICLE_STOPPED and reading.facts[0].t_s == [4.0, 4.5]
    assert any(e.what.startswith("openai:qwen2.5-vl-7b: lead car") for e in reading.evidence)
    assert abs(reading.signals.decoded.peak_t_s - 5.0) <= 0.2  # the upload's peak found from its sound
    (request,) = llm.requests
    assert request["model"] == "qwen2.5-vl-7b"
    assert request["response_format"]["type"] == "json_schema"
    assert set(request["response_format"]["json_schema"]["schema"]["$defs"]) >= {
        "SceneAnswer",
        "SeverityAnswer",
    }
    parts = request["messages"][1]["content"]
    images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(images) == 6
    assert all(base64.b64decode(u.split(",", 1)[1])[:2] == b"\xff\xd8" for u in images)  # real JPEGs
    assert "Frames attached, in order, at seconds" in parts[0]["text"]
    assert llm.headers[0]["Authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in caplog.text


def test_unnormalized_probabilities_within_tolerance_are_rescaled(llm: FakeLLM, clip: Path) -> None:
    answer = {**GOOD, "severity_probabilities": {"NONE": 0.1, "LOW": 0.2, "MEDIUM": 0.3, "HIGH": 0.42}}
    llm.script((200, completion(answer)))
    reading = reader_for(llm).read(clip, None)
    assert sum(reading.severity_probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_malformed_json_is_asked_again_with_the_error(llm: FakeLLM, clip: Path) -> None:
    llm.script((200, completion('{"scenario": "rear_end_striking", ')), (200, completion(GOOD)))
    reading = reader_for(llm).read(clip, None)
    assert reading.backend == "openai" and reading.scenario is Scenario.REAR_END_STRIKING
    assert len(llm.requests) == 2
    repair = llm.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant"
    assert "not JSON" in repair[-1]["content"]


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({**GOOD, "scenario": "meteor_strike"}, "scenario"),
        ({**GOOD, "facts": [{"fact": "driver_was_rude", "t_s": [1.0]}]}, "fact"),
        ({**GOOD, "mood": "calm"}, "mood"),
        ({**GOOD, "severity_probabilities": {"NONE": 0.9, "LOW": 0.9, "MEDIUM": 0.0, "HIGH": 0.0}}, "sum to"),
    ],
)
def test_schema_violations_twice_fall_back_to_the_local_model(
    llm: FakeLLM, clip: Path, bad: dict[str, Any], error: str
) -> None:
    llm.script((200, completion(bad)))
    reading = reader_for(llm).read(clip, None)
    assert len(llm.requests) == 2
    assert error in llm.requests[1]["messages"][-1]["content"]
    assert reading.backend == "local" and reading.model == "scene-cnn-int8-v1"
    assert reading.fallback_reason is not None and "malformed answer twice" in reading.fallback_reason
    assert sum(reading.severity_probabilities.values()) == pytest.approx(1.0, abs=1e-3)


def test_server_errors_are_retried_with_backoff(llm: FakeLLM, clip: Path) -> None:
    llm.script((500, {"error": "overloaded"}), (503, "busy"), (200, completion(GOOD)))
    reading = reader_for(llm).read(clip, None)
    assert reading.backend == "openai" and len(llm.requests) == 3


def test_persistent_server_errors_end_in_the_fallback(llm: FakeLLM, clip: Path) -> None:
    llm.script((500, {"error": "down"}))
    reading = reader_for(llm, openai_retries=1).read(clip, None)
    assert len(llm.requests) == 2
    assert reading.backend == "local"
    assert reading.fallback_reason and "no answer after 2 tries: last HTTP 500" in reading.fallback_reason


def test_a_timeout_is_retried_then_falls_back(llm: FakeLLM, clip: Path) -> None:
    llm.script((200, completion(GOOD), 1.5))
    started = time.perf_counter()
    reading = reader_for(llm, openai_timeout_s=0.3, openai_retries=1).read(clip, None)
    assert len(llm.requests) == 2
    assert reading.backend == "local" and "ReadTimeout" in (reading.fallback_reason or "")
    assert time.perf_counter() - started < 10


def test_a_client_error_is_not_retried(llm: FakeLLM, clip: Path) -> None:
    llm.script((401, {"error": "bad key"}))
    reading = reader_for(llm).read(clip, None)
    assert len(llm.requests) == 1
    assert reading.backend == "local" and "HTTP 401" in (reading.fallback_reason or "")


def test_a_server_without_json_schema_gets_json_object(llm: FakeLLM, clip: Path) -> None:
    llm.script((400, {"error": "response_format json_schema is not supported"}), (200, completion(GOOD)))
    reader = reader_for(llm, openai_retries=0)
    assert reader.read(clip, None).backend == "openai"
    assert reader.read(clip, None).backend == "openai"  # remembered: no second refusal
    kinds = [r["response_format"]["type"] for r in llm.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]


def test_fenced_json_is_accepted(llm: FakeLLM, clip: Path) -> None:
    llm.script((200, completion("```json\n" + json.dumps(GOOD) + "\n```")))
    assert reader_for(llm).read(clip, None).backend == "openai"


def test_openai_needs_a_model_name() -> None:
    with pytest.raises(ValueError, match="OPENAI_MODEL"):
        scene_reader_for(Settings(assessment_backend="openai"))
    with pytest.raises(ValueError, match="ASSESSMENT_BACKEND"):
        scene_reader_for(Settings(assessment_backend="gpt"))
    with pytest.raises(ValueError, match="SCENE_FRAMES"):
        scene_reader_for(Settings(assessment_backend="openai", openai_model="m", scene_frames=0))
    with pytest.raises(ValueError, match="OPENAI_TIMEOUT_S"):
        scene_reader_for(Settings(assessment_backend="openai", openai_model="m", openai_timeout_s=0))
