"""Recorder bench: CPU of one core that loop recording takes per second of a live 720p30 camera.

Two ways a live source is recorded, each measured in a fresh subprocess pinned to one CPU, on the edge
bench's cached 60 s 1280x720 30 fps H.264 + AAC drive, in real time (a camera cannot be recorded faster
than it films):

- **remux**: the drive streamed as MPEG-TS over TCP by the test camera (``TsCamera``, in this process),
  recorded by ``LiveRecorder`` (PyAV demux, packets remuxed into 2 s segments). CPU is the recording
  process's time (all threads) over the stream seconds it recorded.
- **encode**: what a camera that hands out pictures only costs. The worker decodes the drive to full-size
  BGR at 30 fps as the capture would have them, once alone (``decode``) and once feeding ``FrameEncoder``
  (libx264 at the default preset and CRF); encode cost = the difference, per stream second. Frames the
  encoder had no room for are counted (a core too slow for the stream drops, it does not lag).

The box this runs on is shared, so each is run ``REPEATS`` times, alternating, and the lowest CPU is
reported with the highest beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.bench.edge import _THREAD_ENV, bench_clip

SECONDS = 20.0  # of stream per run
REPEATS = 2
_ROOT = Path(__file__).resolve().parents[2]


def _remux(url: str, folder: Path) -> dict[str, float]:
    from edge_agent.clips.recordings import RecordingIndex
    from edge_agent.record import LiveRecorder, RecorderConfig
    from edge_agent.source.live import SourceConfig

    config = RecorderConfig(segment_s=2.0)
    index = RecordingIndex(folder / "recordings.json")
    recorder = LiveRecorder(url, lambda: config, SourceConfig(), index, folder / "recordings")
    stop = threading.Event()
    cpu_start = time.process_time()
    threads = recorder.threads(stop)
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(10)
    cpu_s = time.process_time() - cpu_start
    recordings = index.recordings()
    return {
        "cpu_s": cpu_s,
        "stream_s": sum(r.duration_s for r in recordings),
        "bytes": sum(Path(r.path).stat().st_size for r in recordings),
    }


def _encode(clip: Path, folder: Path, encode: bool) -> dict[str, float]:
    import av

    from edge_agent.clips.recordings import RecordingIndex
    from edge_agent.record import RecorderConfig, SegmentStore
    from edge_agent.record.encode import FrameEncoder

    config = RecorderConfig(segment_s=2.0)
    store = SegmentStore(
        folder / "recordings", RecordingIndex(folder / "recordings.json"), config.quota_bytes
    )
    encoder = FrameEncoder(store, lambda: config)
    stop = threading.Event()
    worker = threading.Thread(target=encoder.run, args=(stop,))
    if encode:
        encoder.enable("bench")
        worker.start()
    frames = 0
    with av.open(str(clip)) as container:
        cpu_start, origin = time.process_time(), time.monotonic()
        for frame in container.decode(video=0):
            due = origin + frames / 30.0
            time.sleep(max(0.0, due - time.monotonic()))  # as the camera delivers them
            encoder.offer(time.monotonic(), frame.to_ndarray(format="bgr24"))
            frames += 1
            if frames >= SECONDS * 30:
                break
        stop.set()
        if encode:
            worker.join(30)
        cpu_s = time.process_time() - cpu_start
    recordings = store.index.recordings()
    return {
        "cpu_s": cpu_s,
        "stream_s": frames / 30.0,
        "dropped": encoder.dropped,
        "bytes": sum(Path(r.path).stat().st_size for r in recordings),
    }


def _work(mode: str, arg: str) -> dict[str, float]:
    from tests.bench.edge import _pin_one_core

    _pin_one_core()
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "remux":
            return _remux(arg, Path(tmp))
        return _encode(Path(arg), Path(tmp), encode=mode == "encode")


def _run(mode: str, arg: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.recorder", "--worker", mode, arg],
        env={**os.environ, **_THREAD_ENV},
        capture_output=True,
        text=True,
        check=False,
        cwd=_ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"recorder bench worker {mode} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from edge_agent.record import RecorderConfig
    from tests.integration.edge_sources.ts_server import TsCamera

    clip = bench_clip()
    runs: dict[str, list[dict[str, float]]] = {"remux": [], "decode": [], "encode": []}
    for _ in range(REPEATS):
        camera = TsCamera(clip)  # a fresh broadcast, so each run records the same stretch of the drive
        try:
            runs["remux"].append(_run("remux", camera.url))
        finally:
            camera.unplug()
        runs["decode"].append(_run("decode", str(clip)))
        runs["encode"].append(_run("encode", str(clip)))
    share = {mode: sorted(r["cpu_s"] / r["stream_s"] for r in rs) for mode, rs in runs.items()}
    print(f"clip: {clip.name}  1280x720 30 fps, {SECONDS:.0f} s of stream per run, one core, {REPEATS} runs")
    remux = min(runs["remux"], key=lambda r: r["cpu_s"] / r["stream_s"])
    mbit = remux["bytes"] * 8 / remux["stream_s"] / 1e6
    low, high = share["remux"][0], share["remux"][-1]
    print(
        f"remux (the H.264 stream kept as it is): {low * 100:.1f} % of a core ({high * 100:.1f} %), {mbit:.2f} Mbit/s"
    )
    pairs = zip(runs["decode"], runs["encode"], strict=True)
    encoded = sorted(e["cpu_s"] / e["stream_s"] - d["cpu_s"] / d["stream_s"] for d, e in pairs)
    best = min(runs["encode"], key=lambda r: r["cpu_s"])
    mbit = best["bytes"] * 8 / best["stream_s"] / 1e6
    dropped = int(max(r["dropped"] for r in runs["encode"]))
    config = RecorderConfig()
    print(
        f"encode (libx264 {config.encode_preset} crf {config.encode_crf}, a picture-only camera's frames): "
        f"{encoded[0] * 100:.0f} % of a core ({encoded[-1] * 100:.0f} %), {mbit:.2f} Mbit/s, dropped {dropped} frames"
    )
    print(
        f"  (decoding the frames, which the capture does anyway: {share['decode'][0] * 100:.0f} % of a core)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(_work(sys.argv[2], sys.argv[3])))
    else:
        main()
