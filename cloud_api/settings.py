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
    if name in {"data_dir", "upload_dir"}:
        return Path(raw) if raw else None
    return raw or None if name in {"mqtt_username", "mqtt_password"} else raw


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
