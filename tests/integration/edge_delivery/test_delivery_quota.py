"""The quota's one exception: the clip whose chunks are on the wire is not evicted, the next-lowest is."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from delivery_support import ClipMaker

from edge_agent.outbox import Outbox


def test_clip_in_transfer_is_spared_by_the_quota(
    tmp_path: Path, clips: ClipMaker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    outbox = Outbox(tmp_path / "outbox", quota_bytes=6000)
    ids = {}
    for name, score in (("sending", 0.1), ("waiting", 0.2)):
        clip, manifest = clips.make(3000, score=score)
        outbox.put(clip, manifest)
        ids[name] = manifest.incident_id
    with outbox.transferring(ids["sending"]):
        clip, newer = clips.make(3000, score=0.3)
        assert outbox.put(clip, newer) is not None
        held = {e.incident_id for e in outbox.pending()}
        assert held == {ids["sending"], newer.incident_id}  # the lowest score is spared mid-transfer
        assert f"outbox.evicted incident={ids['waiting']}" in caplog.text
    clip, last = clips.make(3000, score=0.4)
    outbox.put(clip, last)  # transfer over: now the lowest goes
    assert {e.incident_id for e in outbox.pending()} == {newer.incident_id, last.incident_id}
    assert Outbox(tmp_path / "outbox").depth() == 2  # and the disk agrees
