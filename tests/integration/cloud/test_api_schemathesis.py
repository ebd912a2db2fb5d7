"""schemathesis over the app's own OpenAPI document, against the app behind a real uvicorn on a real
database: schema-valid and schema-breaking requests to every operation must never get a 5xx.

Bounded: ``MAX_EXAMPLES`` cases per operation and generation mode (override with SCHEMATHESIS_MAX_EXAMPLES).
The run's summary (operations, cases, answers by status) is printed for the README / note.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from cloud_api.settings import Settings
from tests.integration.cloud.api_served import served
from tests.integration.cloud.support import write_mp4

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))


def test_no_operation_answers_5xx(
    make_settings: Callable[..., Settings], tmp_path, capsys: pytest.CaptureFixture[str]  # noqa: ANN001
) -> None:
    with served(make_settings(worker_enabled=False, max_upload_size_mb=2)) as cloud:
        headers = {"X-API-Key": cloud.key("admin")}
        # One real claim, so generated ids sometimes meet data and not only 404s.
        write_mp4(tmp_path / "seed.mp4", lambda _: 80)
        import httpx

        with open(tmp_path / "seed.mp4", "rb") as fh:
            httpx.post(f"{cloud.url}/claims/upload", files={"video": ("seed.mp4", fh)}, headers=headers)
        schema = schemathesis.openapi.from_url(f"{cloud.url}/schema/openapi.json")
        statuses: Counter[int] = Counter()
        failures: list[str] = []
        operations = 0
        no_negative: list[str] = []
        # Revoking keys by generated ids would soon revoke the test's own key: that operation runs last.
        ordered = sorted((r.ok() for r in schema.get_all_operations()), key=lambda op: "revoke" in op.label)
        for operation in ordered:
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(
                    max_examples=MAX_EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case: schemathesis.Case) -> None:
                    response = case.call(base_url=cloud.url, headers=headers, timeout=30)
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:300]}"
                        )

                try:
                    run()
                except Unsatisfiable:  # nothing in this operation can be made schema-invalid (no inputs)
                    assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid case"
                    no_negative.append(operation.label)
        with capsys.disabled():
            print(
                f"\nschemathesis: {operations} operations, {sum(statuses.values())} cases "
                f"({MAX_EXAMPLES} max per operation and mode), statuses {dict(sorted(statuses.items()))}; "
                f"no invalid input possible for {no_negative}"
            )
        assert operations >= 15 and sum(statuses.values()) > operations
        assert not failures, "\n".join(failures[:20])
