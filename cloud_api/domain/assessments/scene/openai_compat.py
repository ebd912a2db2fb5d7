"""The video-LLM scene reader: any OpenAI-compatible chat-completions endpoint with image input.

Frames around the peak go as base64 JPEG ``image_url`` parts, with a text part holding the device
metadata and the miners' timelines; the answer must be JSON matching ``SceneAnswer``'s schema
(``response_format`` json_schema, or json_object where the server refuses schemas). Timeouts,
connection errors, 429 and 5xx are retried with backoff; a malformed answer gets one more try that
quotes the validation error; after that the local model answers and the reading says why.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import msgspec
import numpy as np

from cloud_api.domain.assessments.scene import features
from cloud_api.domain.assessments.scene.frames import Observation, jpeg_frames, observe
from cloud_api.domain.assessments.scene.local import LocalSceneReader, evidence, hazards
from cloud_api.domain.assessments.scene.reading import FactSeen, SceneReading
from cloud_api.domain.assessments.schemas import EvidenceOut
from cloud_api.domain.assessments.taxonomy import Fact, Scenario
from cloud_api.settings import Settings
from shared_models import IncidentManifest, Severity

log = logging.getLogger(__name__)

Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
SUM_TOLERANCE = 0.05  # severity probabilities may be off by this much before they count as wrong
TIMELINE_STEP_S = 0.5


class SeverityAnswer(msgspec.Struct, forbid_unknown_fields=True):
    NONE: Probability
    LOW: Probability
    MEDIUM: Probability
    HIGH: Probability


class EvidenceAnswer(msgspec.Struct, forbid_unknown_fields=True):
    t_s: Annotated[float, msgspec.Meta(ge=0.0)]
    what: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class SceneAnswer(msgspec.Struct, forbid_unknown_fields=True):
    """What the video-LLM must answer; its JSON schema is sent with every request."""

    scenario: Scenario
    severity_probabilities: SeverityAnswer
    narrative: Annotated[str, msgspec.Meta(min_length=1, max_length=1500)]
    evidence: list[EvidenceAnswer]
    facts: list[FactSeen]
    other_parties: list[Annotated[str, msgspec.Meta(max_length=200)]]


ANSWER_SCHEMA = msgspec.json.schema(SceneAnswer)
SYSTEM_PROMPT = (
    "You are a motor-claims analyst reading dashcam frames from the insuring vehicle (the ego vehicle). "
    "Answer only with one JSON object matching the given schema. scenario is one of: "
    + ", ".join(s.value for s in Scenario)
    + " (rear_end_struck: the ego is hit from behind; rear_end_striking: the ego hits the vehicle ahead). "
    "severity_probabilities are your probabilities (summing to 1) that the damage severity is NONE, LOW, "
    "MEDIUM or HIGH. facts may only use: "
    + ", ".join(f.value for f in Fact)
    + ", each with the frame times (seconds from the clip start) that show it. evidence items cite frame "
    "times too. Keep the narrative to three sentences and say what you could not see. JSON schema: "
    + msgspec.json.encode(ANSWER_SCHEMA).decode()
)


class SceneAnswerError(Exception):
    """The endpoint gave no usable answer after the retries; the message says why."""


class OpenAISceneReader:
    backend = "openai"

    def __init__(
        self, settings: Settings, fallback: LocalSceneReader, client: httpx.Client | None = None
    ) -> None:
        if not settings.openai_model:
            raise ValueError("ASSESSMENT_BACKEND=openai needs OPENAI_MODEL (the served model's name)")
        if settings.scene_frames < 1 or settings.scene_frame_width < 16:
            raise ValueError("SCENE_FRAMES must be >= 1 and SCENE_FRAME_WIDTH >= 16")
        if settings.openai_retries < 0 or settings.openai_timeout_s <= 0:
            raise ValueError("OPENAI_RETRIES must be >= 0 and OPENAI_TIMEOUT_S > 0")
        self.settings = settings
        self.fallback = fallback
        headers = {"Authorization": f"Bearer {settings.openai_api_key}"} if settings.openai_api_key else {}
        self.client = client or httpx.Client(
            base_url=settings.openai_base_url.rstrip("/") + "/",
            headers=headers,
            timeout=settings.openai_timeout_s,
        )
        self.model = f"openai:{settings.openai_model}"
        self.json_schema_refused = False  # learnt from a 400: this server takes json_object only

    def read(self, clip: Path, manifest: IncidentManifest | None) -> SceneReading:
        seen = observe(clip, manifest)
        try:
            answer = self._ask(_messages(clip, seen, manifest, self.settings))
        except SceneAnswerError as e:
            log.warning("scene.openai_fallback model=%s reason=%s", self.model, e)
            reading = self.fallback.read_observed(seen, manifest)
            return msgspec.structs.replace(reading, fallback_reason=f"{self.model} failed: {e}")
        return self._reading(answer, seen, manifest)

    def _ask(self, messages: list[dict[str, Any]]) -> SceneAnswer:
        """One request (with transport retries), then one repair request if the answer is malformed."""
        content = self._complete(messages)
        try:
            return parse_answer(content)
        except ValueError as first:
            log.info("scene.openai_malformed model=%s error=%s", self.model, first)
            repair = [
                *messages,
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"That answer is invalid: {first}. Reply with the corrected JSON object only.",
                },
            ]
            content = self._complete(repair)
            try:
                return parse_answer(content)
            except ValueError as second:
                raise SceneAnswerError(f"malformed answer twice: {second}") from None

    def _complete(self, messages: list[dict[str, Any]]) -> str:
        body: dict[str, Any] = {
            "model": self.settings.openai_model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": 1200,
            "response_format": (
                {"type": "json_object"}
                if self.json_schema_refused
                else {
                    "type": "json_schema",
                    "json_schema": {"name": "scene_reading", "schema": ANSWER_SCHEMA, "strict": True},
                }
            ),
        }
        attempts, attempt = self.settings.openai_retries + 1, 0
        while True:
            try:
                response = self.client.post("chat/completions", json=body)
            except httpx.TransportError as e:  # timeouts, refused and reset connections
                problem = type(e).__name__
            else:
                if response.status_code == 200:
                    return _content(response)
                if _refuses_schema(response) and not self.json_schema_refused:
                    log.info("scene.openai_no_json_schema model=%s: asking for json_object", self.model)
                    self.json_schema_refused = True
                    body["response_format"] = {"type": "json_object"}  # the schema is in the prompt too
                    continue
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    raise SceneAnswerError(f"endpoint refused the request: {problem} {response.text[:200]}")
            attempt += 1
            log.warning(
                "scene.openai_retry model=%s attempt=%d of=%d problem=%s",
                self.model,
                attempt,
                attempts,
                problem,
            )
            if attempt >= attempts:
                raise SceneAnswerError(f"no answer after {attempts} tries: last {problem}")
            delay = self.settings.openai_retry_backoff_s * 2 ** (attempt - 1)
            time.sleep(delay * (1 + random.uniform(0, 0.5)))

    def _reading(
        self, answer: SceneAnswer, seen: Observation, manifest: IncidentManifest | None
    ) -> SceneReading:
        p = answer.severity_probabilities
        raw = {Severity.NONE: p.NONE, Severity.LOW: p.LOW, Severity.MEDIUM: p.MEDIUM, Severity.HIGH: p.HIGH}
        total = sum(raw.values())
        said = [EvidenceOut(t_s=e.t_s, what=f"{self.model}: {e.what}") for e in answer.evidence]
        return SceneReading(
            scenario=answer.scenario,
            scenario_probabilities={},
            severity_probabilities={s: round(v / total, 4) for s, v in raw.items()},
            narrative=answer.narrative,
            evidence=sorted(evidence(seen, manifest) + said, key=lambda e: e.t_s),
            facts=answer.facts,
            other_parties=answer.other_parties,
            hazards=hazards(seen, manifest),
            signals=seen.signals,
            model=self.model,
            backend="openai",
        )


def parse_answer(content: str) -> SceneAnswer:
    """Decode and check an answer; ValueError (with msgspec's path to the bad field) if it is not one."""
    text = content.strip()
    if text.startswith("```"):  # some servers fence JSON even when asked not to
        text = text.strip("`").removeprefix("json").strip()
    try:
        answer = msgspec.json.decode(text, type=SceneAnswer)
    except msgspec.ValidationError as e:
        raise ValueError(f"does not match the schema: {e}") from None
    except msgspec.DecodeError as e:
        raise ValueError(f"not JSON: {e}") from None
    p = answer.severity_probabilities
    total = p.NONE + p.LOW + p.MEDIUM + p.HIGH
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ValueError(f"severity_probabilities sum to {total:.3f}, not 1")
    return answer


def _refuses_schema(response: httpx.Response) -> bool:
    return response.status_code == 400 and "response_format" in response.text


def _content(response: httpx.Response) -> str:
    try:
        return str(response.json()["choices"][0]["message"]["content"] or "")
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text  # not a chat completion at all: parse_answer will say so


def _messages(
    clip: Path, seen: Observation, manifest: IncidentManifest | None, settings: Settings
) -> list[dict[str, Any]]:
    times = np.round(
        np.linspace(seen.peak_t_s - features.PRE_S, seen.peak_t_s + features.POST_S, settings.scene_frames), 2
    )
    times = np.clip(times, 0.0, seen.signals.decoded.duration_s)
    images = jpeg_frames(clip, list(times), settings.scene_frame_width)
    parts: list[dict[str, Any]] = [{"type": "text", "text": _context(seen, manifest, list(times))}]
    for image in images:
        url = "data:image/jpeg;base64," + base64.b64encode(image).decode()
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": parts}]


def _context(seen: Observation, manifest: IncidentManifest | None, times: list[float]) -> str:
    d = seen.signals.decoded
    lines = [
        f"Clip: {d.duration_s:.1f} s, {d.width}x{d.height}, {d.fps:g} fps.",
        f"Frames attached, in order, at seconds: {', '.join(f'{t:.2f}' for t in times)}.",
        f"Largest frame change at {seen.peak_t_s:.2f} s ({d.peak_energy:.1f} grey levels in 0.1 s).",
    ]
    if manifest is None:
        lines.append("Uploaded clip: no device metadata.")
        return "\n".join(lines)
    lines.append(
        f"Device {manifest.device_id}, firmware {manifest.firmware or 'unknown'}; incident score "
        f"{manifest.score:.2f} peaking at {seen.signals.peak_t_s:.2f} s; miner scores at the peak: "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(manifest.miner_scores.items()))
    )
    for timeline in manifest.timelines:  # every 0.5 s, so the prompt stays short
        step = max(1, round(timeline.rate_hz * TIMELINE_STEP_S))
        scores = " ".join(f"{s:.2f}" for s in timeline.scores[::step])
        lines.append(f"{timeline.miner} miner score every {step / timeline.rate_hz:g} s from 0 s: {scores}")
    return "\n".join(lines)
