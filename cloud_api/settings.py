"""Environment-backed settings, built once per process by ``get_settings()`` or explicitly by tests.

Names follow the original API (``DATABASE_URL``, ``UPLOAD_DIR``, ``MAX_UPLOAD_SIZE_MB``, ...), so its
deployments keep working. Paths that default to somewhere under ``DATA_DIR`` are resolved once, at
construction, so every part of the app sees the same folders.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, kw_only=True)
class Settings:
    data_dir: Path = Path("./data/cloud")
    database_url: str = ""  # empty: sqlite:///<data_dir>/claims.db
    upload_dir: Path | None = None  # None: <data_dir>/uploads (the blob folder)
    max_upload_size_mb: int = 500
    worker_max_threads: int = 2
    cors_origins: tuple[str, ...] = ()
    dev_mode: bool = False
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: str | None = field(default=None, repr=False)
    mqtt_client_id: str = "cloud-api"
    ingest_enabled: bool = True
    worker_enabled: bool = True
    assessment_backend: str = "local"
    rate_limit_per_minute: int = 60
    # --- insurer REST API (cloud-rest, issue 6) ---
    api_key_cache_s: float = 5.0  # a key's check is reused this long; revocation elsewhere waits as long
    # --- fleet and ingest (cloud-fleet, issue 4) ---
    blob_store: str = "local"  # local | s3
    s3_endpoint_url: str = ""  # empty: AWS; e.g. http://minio:9000 for an S3-compatible server
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    mqtt_password_file: Path | None = None  # None: <data_dir>/mosquitto/passwd
    mqtt_broker_pid_file: Path | None = None  # set: `devices add/revoke` send SIGHUP to reload
    incident_expiry_s: float = 86_400.0
    fleet_sweep_interval_s: float = 60.0
    health_history_retention_h: float = 168.0
    health_stale_after_s: float = 90.0  # about three missed heartbeats at the edge's 30 s
    health_offline_after_s: float = 900.0
    health_disk_free_min_mb: int = 1024
    health_outbox_max_depth: int = 20
    health_clock_drift_max_s: float = 5.0
    health_temperature_max_c: float = 85.0
    ingest_device_cache_s: float = 5.0
    ingest_batch_max: int = 64
    # --- assessment jobs and conformal sets (cloud-assess, issue 5) ---
    alpha: float = 0.1  # prediction sets aim at 1 - ALPHA coverage
    conformal_method: str = "lac"  # lac | aps
    conformal_class_conditional: bool = False  # one threshold per true class instead of one overall
    recalibrate_every_n_reviews: int = 25  # 0: only on `cloud-api calibrate`
    assessment_max_attempts: int = 3
    assessment_retry_backoff_s: float = 2.0  # retry n waits this * 2^(n-1)
    assessment_lease_s: float = 60.0  # renewed every third of it while a job runs
    # --- scene reading backends (cloud-scene, issue 5): ASSESSMENT_BACKEND=local|openai ---
    openai_base_url: str = "http://127.0.0.1:8000/v1"  # any OpenAI-compatible server (vLLM, Ollama, ...)
    openai_model: str = ""  # required with ASSESSMENT_BACKEND=openai
    openai_api_key: str | None = field(default=None, repr=False)  # sent as a Bearer token, never logged
    openai_timeout_s: float = 60.0  # per request
    openai_retries: int = 2  # extra tries after a timeout, connection error, 429 or 5xx
    openai_retry_backoff_s: float = 1.0  # try n waits this * 2^(n-1), plus up to 50 % jitter
    scene_frames: int = 6  # frames around the peak sent to the video-LLM
    scene_frame_width: int = 512  # their width in pixels (JPEG)

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir)
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / 'claims.db'}")
        object.__setattr__(
            self, "upload_dir", Path(self.upload_dir) if self.upload_dir else data_dir / "uploads"
        )
        if self.max_upload_size_mb < 1 or self.worker_max_threads < 1 or self.rate_limit_per_minute < 1:
            raise ValueError("MAX_UPLOAD_SIZE_MB, WORKER_MAX_THREADS and RATE_LIMIT_PER_MINUTE must be >= 1")

    @property
    def blob_dir(self) -> Path:
        assert self.upload_dir is not None  # resolved in __post_init__
        return self.upload_dir

    @property
    def password_file(self) -> Path:
        """The Mosquitto password file ``devices add`` writes (the broker's ``password_file``)."""
        return Path(self.mqtt_password_file or self.data_dir / "mosquitto" / "passwd")

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_size_mb * 1024 * 1024

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (the process environment by default); unset ones keep defaults."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f.name, raw, f.default)
        return cls(**values)


def _parse(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(f"{name.upper()}={raw!r} is not a boolean")
        return lowered in _TRUE
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if name in {"data_dir", "upload_dir", "mqtt_password_file", "mqtt_broker_pid_file"}:
        return Path(raw) if raw else None
    optional = {"mqtt_username", "mqtt_password", "s3_access_key_id", "s3_secret_access_key"}
    return raw or None if name in optional else raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
