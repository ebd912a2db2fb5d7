"""``python -m edge_agent.evaluation`` (``just eval``): miners + fusion over real and generated clips.

Prints one row per clip and the totals per segment (real / generated, kind, view, ego involvement):
recall (an impact counts as found when an incident's clip window contains it: [peak - pre_roll,
peak + post_roll], widened to the incident's whole span, ``Incident.clip_window``) with its exact 95 %
interval, false triggers per hour of normal driving with the rate's 95 % upper bound, share of footage
uploaded, median time from impact to incident start, scene-cut clips that triggered, and incidents the
rest check dropped (incidents nothing heard, the vehicle drove on from: a loss on crashes, a saved false
trigger on normal driving); then the audio
miner alone over the real sound files. Generated crashes, real normal clips with a sound track and
the first ``--silent-hours`` of generated normal driving are also mined without sound, each such
replay in a ``.../silent/gsensor`` or ``.../silent/video-only`` segment (with or without a G-sensor
log) and not in ``ALL``; generated crashes also with a normal drive's cabin sound instead of their own
(``.../cabin-sound/...``: a microphone that hears no crash it recognises, as the audio model hears real
crash recordings). Thresholds are never fitted here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import defaultdict
from pathlib import Path

import msgspec

from edge_agent.evaluation.metrics import Clip, Totals, found_index, totals, uploaded_s
from edge_agent.evaluation.sets import Job, generated_jobs, real_jobs, run_job
from edge_agent.evaluation.sounds import SoundResult, sound_results
from edge_agent.settings import AgentConfig, load_config

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def segment(clip: Clip) -> str:
    parts = [clip.group, clip.kind, clip.view]
    if clip.kind == "crash" and clip.group == "real" and clip.view == "dashcam":
        parts.append(f"ego={clip.ego_involved or '?'}")
    if clip.group == "real" and clip.kind == "normal" and clip.view == "dashcam":
        parts.append("trained" if clip.trained else "held-out")
    if clip.group == "generated" and clip.kind == "crash":
        parts.append(clip.name.split("_")[1] if not clip.name.startswith("gen_side") else "side")
    if clip.replay:  # with no sound heard, the G-sensor is the only other witness of a jolt
        parts += [clip.replay, "gsensor" if clip.gsensor else "video-only"]
    return "/".join(parts)


def _run_all(jobs: list[Job], config: AgentConfig, processes: int) -> list[Clip]:
    if processes <= 1:
        per_job = [run_job(j, config) for j in jobs]
    else:
        from multiprocessing import get_context

        with get_context("spawn").Pool(processes) as pool:
            per_job = pool.starmap(run_job, [(j, config) for j in jobs], chunksize=1)
    return [clip for clips in per_job for clip in clips]


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def print_report(clips: list[Clip], by_segment: dict[str, Totals]) -> None:
    w = sys.stdout.write
    w(
        f"{'clip':52} {'kind':8} {'view':7} {'ego':3} {'dur_s':>6} {'impact':>6}  found  ttd_s  upload  peaks\n"
    )
    for c in clips:
        i = found_index(c)
        ttd = f"{c.starts[i] - c.impact_s:+.1f}" if i is not None and c.impact_s is not None else "-"
        share = uploaded_s(c) / c.duration_s if c.duration_s else 0.0
        found = ("yes" if i is not None else "NO") if c.kind == "crash" else "-"
        peaks = ",".join(f"{p:.1f}" for p in c.peaks[:6]) + ("..." if len(c.peaks) > 6 else "")
        w(
            f"{c.name[:52]:52} {c.kind:8} {c.view:7} {c.ego_involved or '-':3} {c.duration_s:6.1f} "
            f"{_fmt(c.impact_s):>6}  {found:5}  {ttd:>5}  {share:6.1%}  {peaks}{'  ' + c.note if c.note else ''}"
            f"{'  (trained on)' if c.trained else ''}\n"
        )
    w("\n")
    w(
        f"{'segment':56} {'clips':>5} {'hours':>7} {'recall [95 %]':>22} {'FT/h (95 % <)':>15} {'upload':>7}"
        f" {'ttd_s':>6} {'cuts_trig':>9} {'rest_drop':>9}\n"
    )
    for name, t in by_segment.items():
        recall = "-"
        if t.recall is not None and t.recall_interval is not None:
            lo, hi = t.recall_interval
            recall = f"{t.found}/{t.crashes}={t.recall:.2f} [{lo:.2f}-{hi:.2f}]"
        ft = "-"
        if t.false_triggers_per_hour is not None:
            ft = f"{_fmt(t.false_triggers_per_hour)} (<{_fmt(t.false_triggers_per_hour_upper)})"
        w(
            f"{name:56} {t.clips:5d} {t.hours:7.3f} {recall:>22} {ft:>15} "
            f"{t.uploaded_share:7.2%} {_fmt(t.median_detection_s):>6} {_fmt(t.cut_clips_triggered):>9}"
            f" {t.rest_dropped:9d}\n"
        )


def print_sounds(sounds: list[SoundResult]) -> None:
    if not sounds:
        return
    w = sys.stdout.write
    w("\nreal sound files, audio miner alone (score = collision evidence)\n")
    w(f"{'file':28} {'dur_s':>6} {'max':>6} {'held':>6}  what\n")
    for s in sounds:
        w(f"{s.name[:28]:28} {s.duration_s:6.1f} {s.max_score:6.3f} {s.held_score:6.3f}  {s.what[:70]}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_agent.evaluation")
    parser.add_argument("--real", type=Path, default=REAL_DATA, help="folder with labels.tsv")
    parser.add_argument("--config", help="agent config TOML (defaults built in)")
    parser.add_argument(
        "--crashes-per-kind", type=int, default=10, help="generated rear-end / side / pedestrian"
    )
    parser.add_argument("--near-misses", type=int, default=10)
    parser.add_argument(
        "--normal-hours", type=float, default=1.0, help="generated normal driving, in 120 s drives"
    )
    parser.add_argument("--cuts", type=int, default=10, help="generated scene-cut clips")
    parser.add_argument(
        "--silent-hours", type=float, default=0.5, help="of the normal drives, also played without sound"
    )
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="processes (each single-threaded)")
    parser.add_argument("--json", type=Path, help="also write clips and totals to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    config = load_config(args.config)
    jobs: list[Job] = []
    sounds: list[SoundResult] = []
    if (args.real / "labels.tsv").is_file():
        jobs += real_jobs(args.real)
        sounds = sound_results(args.real)
    else:
        print(
            f"real clips skipped: {args.real / 'labels.tsv'} not found (the real set lives outside the repo)"
        )
    if not args.no_generated:
        jobs += generated_jobs(
            args.crashes_per_kind, args.near_misses, args.normal_hours, args.cuts, args.silent_hours
        )
    clips = _run_all(jobs, config, args.jobs)
    groups: dict[str, list[Clip]] = defaultdict(list)
    for c in clips:
        groups[segment(c)].append(c)
        # A replay of a clip already counted is reported in its own segments, not again in ALL.
        groups[f"{c.group}/ALL" + (f"/{c.replay}" if c.replay else "")].append(c)
    by_segment = {name: totals(groups[name]) for name in sorted(groups)}
    print_report(clips, by_segment)
    print_sounds(sounds)
    if args.json:
        report = {"clips": clips, "totals": by_segment, "sounds": sounds}
        args.json.write_text(msgspec.json.encode(report).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
