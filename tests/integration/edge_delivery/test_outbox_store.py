"""The outbox on a real disk: ordering, chunk reads, restarts, crash leftovers and the quota."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import msgspec
import pytest

from edge_agent.outbox import EntryStatus, Outbox
from edge_agent.outbox.store import CLIP_FILE, MANIFEST_FILE, STATE_FILE

from delivery_support import ClipMaker


def test_put_moves_clip_in_and_chunks_reassemble(tmp_path: Path, clips: ClipMaker) -> None:
    outbox = Outbox(tmp_path / "outbox")
    clip, manifest = clips.make(10_000, chunk_size=4096)
    original = clip.read_bytes()
    entry = outbox.put(clip, manifest)

    assert entry is not None and not clip.exists()
    assert outbox.depth() == 1 and outbox.bytes() == 10_000
    assert outbox.get(manifest.incident_id).state.status is EntryStatus.QUEUED
    pieces = [outbox.chunk(manifest.incident_id, seq) for seq in range(manifest.chunk_count)]
    assert [len(p) for p in pieces] == [4096, 4096, 1808]
    assert [hashlib.sha256(p).hexdigest() for p in pieces] == manifest.chunk_sha256
    assert b"".join(pieces) == original
    with pytest.raises(IndexError):
        outbox.chunk(manifest.incident_id, 3)
    with pytest.raises(KeyError):
        outbox.chunk("not-there", 0)


def test_pending_orders_incidents_first_then_score_then_age(tmp_path: Path, clips: ClipMaker) -> None:
    outbox = Outbox(tmp_path / "outbox")
    ids = {}
    for name, score, reason in [
        ("low", 0.2, "incident"),
        ("request", 0.99, "footage_request"),
        ("high_old", 0.8, "incident"),
        ("high_new", 0.8, "incident"),
    ]:
        clip, manifest = clips.make(1000, score=score, reason=reason)
        outbox.put(clip, manifest)
        ids[manifest.incident_id] = name
        time.sleep(0.01)  # distinct creation times
    assert [ids[e.incident_id] for e in outbox.pending()] == ["high_old", "high_new", "low", "request"]


def test_put_refuses_a_clip_that_does_not_match_its_manifest(tmp_path: Path, clips: ClipMaker) -> None:
    outbox = Outbox(tmp_path / "outbox")
    clip, manifest = clips.make(5000)
    with clip.open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(ValueError, match="5001 bytes"):
        outbox.put(clip, manifest)
    assert outbox.depth() == 0 and clip.exists()


def test_survives_restart_with_state(tmp_path: Path, clips: ClipMaker) -> None:
    outbox = Outbox(tmp_path / "outbox")
    clip, manifest = clips.make(9000)
    original = clip.read_bytes()
    entry = outbox.put(clip, manifest)
    sent = msgspec.structs.replace(entry.state, status=EntryStatus.SENT, attempts=2, last_sent_at=123.0)
    outbox.set_state(manifest.incident_id, sent)

    reopened = Outbox(tmp_path / "outbox")
    again = reopened.get(manifest.incident_id)
    assert again is not None
    assert again.manifest == manifest
    assert again.state == sent
    assert b"".join(reopened.chunk(manifest.incident_id, s) for s in range(manifest.chunk_count)) == original


def test_crash_leftovers_are_cleared_and_entries_kept(
    tmp_path: Path, clips: ClipMaker, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "outbox"
    outbox = Outbox(root)
    clip, kept = clips.make(3000)
    outbox.put(clip, kept)
    # What a kill -9 can leave: a half-built temp folder, a half-deleted trash folder, a state rewrite.
    half = root / ".tmp-abc-1234"
    half.mkdir()
    (half / CLIP_FILE).write_bytes(b"partial")
    trash = root / ".trash-old-5678"
    trash.mkdir()
    (trash / MANIFEST_FILE).write_bytes(b"x")
    (root / kept.incident_id / f".{STATE_FILE}.tmp").write_bytes(b"{")
    # And a folder that is not a complete entry (written by hand, never by the outbox).
    (root / "broken").mkdir()
    (root / "broken" / CLIP_FILE).write_bytes(b"orphan")

    caplog.set_level(logging.INFO, logger="edge_agent")
    reopened = Outbox(root)
    assert sorted(p.name for p in root.iterdir()) == [kept.incident_id]
    assert sorted(p.name for p in (root / kept.incident_id).iterdir()) == sorted(
        [CLIP_FILE, MANIFEST_FILE, STATE_FILE]
    )
    assert reopened.depth() == 1
    assert caplog.text.count("outbox.garbage_cleared") == 3


def test_corrupt_state_file_restarts_delivery_without_losing_the_clip(
    tmp_path: Path, clips: ClipMaker
) -> None:
    root = tmp_path / "outbox"
    clip, manifest = clips.make(3000)
    Outbox(root).put(clip, manifest)
    (root / manifest.incident_id / STATE_FILE).write_bytes(b"not json")
    entry = Outbox(root).get(manifest.incident_id)
    assert entry is not None and entry.state.status is EntryStatus.QUEUED


def test_remove_deletes_entry_for_good(tmp_path: Path, clips: ClipMaker) -> None:
    root = tmp_path / "outbox"
    outbox = Outbox(root)
    clip, manifest = clips.make(3000)
    outbox.put(clip, manifest)
    assert outbox.remove(manifest.incident_id)
    assert not outbox.remove(manifest.incident_id)
    assert list(root.iterdir()) == []
    assert Outbox(root).depth() == 0


def test_quota_evicts_lowest_score_then_oldest(
    tmp_path: Path, clips: ClipMaker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    outbox = Outbox(tmp_path / "outbox", quota_bytes=10_000)
    made = {}
    for name, score in [("a_low_old", 0.3), ("b_high", 0.9), ("c_low_new", 0.3)]:
        clip, manifest = clips.make(3000, score=score)
        outbox.put(clip, manifest)
        made[name] = manifest.incident_id
        time.sleep(0.01)
    assert outbox.bytes() == 9000

    clip, mid = clips.make(3000, score=0.5)  # needs 2000 more bytes than free: one clip must go
    outbox.put(clip, mid)
    held = {e.incident_id for e in outbox.pending()}
    assert held == {made["b_high"], made["c_low_new"], mid.incident_id}
    assert f"outbox.evicted incident={made['a_low_old']}" in caplog.text

    clip, big = clips.make(6000, score=0.6)  # evicts both 0.3 and 0.5, in that order
    outbox.put(clip, big)
    assert {e.incident_id for e in outbox.pending()} == {made["b_high"], big.incident_id}
    assert caplog.text.index(made["c_low_new"] + " score") < caplog.text.index(mid.incident_id + " score")
    assert outbox.bytes() == 9000


def test_quota_evicts_the_incoming_clip_when_it_scores_lowest(
    tmp_path: Path, clips: ClipMaker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    outbox = Outbox(tmp_path / "outbox", quota_bytes=5000)
    clip, kept = clips.make(4000, score=0.7)
    outbox.put(clip, kept)
    clip, low = clips.make(2000, score=0.1)
    assert outbox.put(clip, low) is None
    assert not clip.exists()
    assert [e.incident_id for e in outbox.pending()] == [kept.incident_id]
    assert f"outbox.evicted incident={low.incident_id}" in caplog.text
    assert len(list((tmp_path / "outbox").iterdir())) == 1
