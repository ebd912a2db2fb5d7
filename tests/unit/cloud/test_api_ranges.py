"""Range header parsing for clip streaming: the forms browsers send and the ones that must be refused."""

from __future__ import annotations

import pytest

from cloud_api.server.ranges import RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=0-0", (0, 0)),
        ("bytes=0-9,20-29", None),  # several ranges: the whole file with 200, as RFC 9110 allows
    ],
)
def test_satisfiable_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=5-4", "bytes=-0", "bytes=-", "items=0-5", "bytes=a-b"]
)
def test_unsatisfiable_ranges_are_416_with_the_size(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, 1000)
    assert info.value.status_code == 416 and info.value.headers == {"Content-Range": "bytes */1000"}
