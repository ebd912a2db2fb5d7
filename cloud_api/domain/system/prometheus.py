"""Prometheus text exposition format (version 0.0.4), the small part of it /metrics needs."""

from __future__ import annotations

import math
from collections.abc import Mapping


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    return repr(round(value, 6)) if isinstance(value, float) else str(value)


class Exposition:
    """Metric families in order; a value of None is written as NaN (unknown), not left out."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self,
        name: str,
        kind: str,
        help_text: str,
        values: Mapping[str, float | None],
        label: str | None = None,
    ) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for key, value in sorted(values.items()):
            labels = f'{{{label}="{_escape(key)}"}}' if label else ""
            self.lines.append(f"{name}{labels} {_number(value)}")

    def single(self, name: str, kind: str, help_text: str, value: float | None) -> None:
        self.family(name, kind, help_text, {"": value})

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
