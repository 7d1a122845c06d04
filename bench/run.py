#!/usr/bin/env python3
"""Benchmark: ld-segment against jq and a hand-written orjson loop, side by side, in one run.

    .venv/bin/python bench/run.py [--events 200000] [--runs 5] [--big 1000000] [--skip-big] [--skip-send]

Generates the data set (bench/data/, git-ignored), checks that every program produces the same events,
and only then prints speed (median of --runs, run in rounds so that a slow stretch of the machine falls on
every program alike), peak RSS and the ratios the project promises."""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

from gen_events import events  # noqa: E402


@dataclass
class Measure:
    name: str
    seconds: float
    rss_mb: float
    events_out: int
    events_in: int

    @property
    def rate(self) -> float:
        return self.events_in / self.seconds


def dataset(n: int) -> Path:
    """bench/data/events-N.ndjson, generated once, in a child process: the generator's memory must not
    count in this process's children's peak RSS (a forked child starts with its parent's high-water mark)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"events-{n}.ndjson"
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--only-generate", str(n)], check=True)
    return path


def generate(n: int) -> None:
    path = DATA / f"events-{n}.ndjson"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        batch = []
        for ev in events(n, seed=7):
            batch.append(orjson.dumps(ev))
            if len(batch) >= 10000:
                f.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            f.write(b"\n".join(batch) + b"\n")
    tmp.rename(path)


def run_once(cmd: list[str], out_path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run, stdout to out_path."""
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return seconds, usage.ru_maxrss / 1024


def measure_all(programs: dict[str, list[str]], n: int, runs: int) -> list[Measure]:
    """Median wall time and peak RSS of each program, run in rounds (every program once per round), so that
    a slow stretch of a noisy machine falls on all of them rather than on one."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, cmd in programs.items():
            results[name].append(run_once(cmd, _out_path(name)))
    measures = []
    for name, times in results.items():
        count = _count_lines(_out_path(name))
        measures.append(Measure(name, statistics.median(t for t, _ in times), max(m for _, m in times), count, n))
    return measures


def _out_path(name: str) -> Path:
    return DATA / f"out-{name.replace(' ', '_')}.ndjson"


def same_events(a: Path, b: Path) -> str | None:
    """None when both files hold the same events in the same order (compared as parsed JSON)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        for i, (la, lb) in enumerate(zip(fa, fb, strict=False), 1):
            if orjson.loads(la) != orjson.loads(lb):
                return f"line {i} differs:\n  {la.decode().strip()}\n  {lb.decode().strip()}"
    ca, cb = _count_lines(a), _count_lines(b)
    return None if ca == cb else f"{ca} events vs {cb} events"


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def table(rows: list[Measure], ref: dict[str, Measure]) -> None:
    print(f"{'program':<34}{'events/s':>12}{'median s':>10}{'peak RSS':>11}{'vs jq':>8}{'vs loop':>9}")
    for m in rows:
        vs_jq = m.rate / ref["jq"].rate if "jq" in ref else float("nan")
        vs_loop = m.rate / ref["loop"].rate if "loop" in ref else float("nan")
        print(f"{m.name:<34}{m.rate:>12,.0f}{m.seconds:>10.2f}{m.rss_mb:>9.0f}MB{vs_jq:>7.2f}x{vs_loop:>8.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--big", type=int, default=1_000_000, help="events for the workers and memory checks")
    ap.add_argument("--big-runs", type=int, default=3)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--skip-send", action="store_true")
    ap.add_argument("--only-generate", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only_generate:
        generate(args.only_generate)
        return

    # As installed by pip, the package is byte-compiled; an editable checkout may hold stale .pyc files that
    # every run would compile again when PYTHONDONTWRITEBYTECODE is set (it is on some CI machines).
    compileall.compile_dir(str(ROOT / "ld_segment_cli"), quiet=1)
    data = dataset(args.events)
    ours = [str(BIN / "ld-segment"), "dry-run", "--format", "ndjson", str(data)]
    programs = {"ld-segment dry-run (presets)": ours,
                "ld-segment dry-run --no-dedupe": [*ours[:-1], "--no-dedupe", str(data)],
                "loop": [sys.executable, str(HERE / "handwritten.py"), str(data)]}
    for jq in ("jq", "gojq"):
        if shutil.which(jq):
            programs[jq] = [jq, "-c", "-f", str(HERE / "presets.jq"), str(data)]
    print(f"data: {data.name} ({data.stat().st_size / 1e6:.0f} MB, {args.events:,} events); "
          f"median of {args.runs} runs on {os.cpu_count()} cores")

    # Correctness first: one run each, same events, before any speed is printed.
    for name, cmd in programs.items():
        run_once(cmd, _out_path(name))
    reference = _out_path("ld-segment dry-run (presets)")
    for name in programs:
        if name == "ld-segment dry-run (presets)":
            continue
        problem = same_events(reference, _out_path(name))
        if problem:
            raise SystemExit(f"outputs differ between ld-segment and {name}: {problem}")
    print("outputs identical: " + ", ".join(programs))

    rows = measure_all(programs, args.events, args.runs)
    ref = {m.name: m for m in rows}
    table(rows, ref)
    verdicts = [check("dry-run ≥ 4× jq", ref, "ld-segment dry-run (presets)", "jq", 4.0),
                check("dry-run ≥ 0.8× hand-written loop", ref, "ld-segment dry-run (presets)", "loop", 0.8)]

    if not args.skip_big:
        big = dataset(args.big)
        print(f"\ndata: {big.name} ({big.stat().st_size / 1e6:.0f} MB, {args.big:,} events); "
              f"median of {args.big_runs} runs")
        one, two = measure_all({"dry-run --workers 1": [*ours[:-1], "--workers", "1", str(big)],
                                "dry-run --workers 2": [*ours[:-1], "--workers", "2", str(big)]},
                               args.big, args.big_runs)
        problem = same_events(_out_path("dry-run --workers 1"), _out_path("dry-run --workers 2"))
        if problem:
            raise SystemExit(f"--workers 2 output differs from --workers 1: {problem}")
        big_rows = [one, two]
        if not args.skip_send:
            big_rows.append(measure_send(big, args.big))
        table(big_rows, {"loop": one})
        print("(vs loop column here: ratio to --workers 1)")
        verdicts.append(check("--workers 2 ≥ 1.7× one worker", {"a": two, "b": one}, "a", "b", 1.7))
        verdicts.append(f"{'ok ' if one.rss_mb <= 100 and two.rss_mb <= 100 else 'MISS'} dry-run peak RSS ≤ 100 MB "
                        f"on {args.big:,} events ({one.rss_mb:.0f} / {two.rss_mb:.0f} MB)")
        if not args.skip_send:
            send = big_rows[-1]
            verdicts.append(f"{'ok ' if send.rate >= 50_000 else 'MISS'} send ≥ 50k events/s to a loopback "
                            f"endpoint ({send.rate:,.0f}/s)")
            verdicts.append(f"{'ok ' if send.rss_mb <= 100 else 'MISS'} send peak RSS ≤ 100 MB ({send.rss_mb:.0f} MB)")
    print()
    print("\n".join(verdicts))


def check(label: str, ref: dict[str, Measure], ours: str, theirs: str, target: float) -> str:
    if theirs not in ref:
        return f"skip {label} ({theirs} not installed)"
    ratio = ref[ours].rate / ref[theirs].rate
    return f"{'ok ' if ratio >= target else 'MISS'} {label}: {ratio:.2f}×"


def measure_send(data: Path, n: int) -> Measure:
    """`ld-segment send` to a fake LaunchDarkly endpoint on 127.0.0.1 (a separate process that counts)."""
    from sink import Sink

    with Sink() as sink:
        cmd = [str(BIN / "ld-segment"), "send", "--client-id", "bench", "--events-url", sink.url,
               "--min-delivery-rate", "0", str(data)]
        seconds, rss = run_once(cmd, _out_path("send"))
        received = sink.events()
    return Measure("send → 127.0.0.1", seconds, rss, received, n)


if __name__ == "__main__":
    main()
