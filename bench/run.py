"""Run the benchmarks of issues 7, 14 and 15 and rewrite bench/RESULTS.md (`--quick` for fewer repeats, `--only` for some).

Usage: .venv/bin/python bench/run.py [--quick] [--only store,io,lookup,pipeline,launch,delta] [--output PATH]
"""

import argparse
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make `bench` importable

from bench.common import Result, machine  # noqa: E402
from bench.results import render  # noqa: E402

SECTIONS = ("store", "io", "lookup", "pipeline", "launch", "delta")
SIZES = (1_000_000, 5_000_000)
# (full, quick) repeats
REPEATS = {
    "store": {1_000_000: (7, 3), 5_000_000: (4, 2)},
    "io": {1_000_000: (5, 2), 5_000_000: (3, 1)},
    "lookup": (5, 2),
    "rerun": (4, 2),
    "backfill": (2, 1),
    "launch": (3, 1),
    "delta": (3, 1),
}


def run_section(name: str, quick: bool, workdir: Path | None) -> tuple[list[Result], list[str]]:
    pick = 1 if quick else 0
    if name == "store":
        from bench.store_io import bench_store_io
        return [bench_store_io(n, REPEATS["store"][n][pick], workdir, one_session)
                for n in SIZES for one_session in (False, True)], []
    if name == "io":
        from bench.io_managers import bench_io_managers
        results, problems = [], []
        for n in SIZES:
            rows, failed = bench_io_managers(n, REPEATS["io"][n][pick], workdir)
            results += rows
            problems += [f"{n:,} rows: {p}" for p in failed]
        return results, sorted(set(problems))
    if name == "lookup":
        from bench.checkpoint_lookup import bench_checkpoint_lookup
        return bench_checkpoint_lookup(REPEATS["lookup"][pick], calls=10 if quick else 20, workdir=workdir), []
    if name == "pipeline":
        from bench.pipeline_runs import bench_pipeline
        return bench_pipeline(REPEATS["rerun"][pick], REPEATS["backfill"][pick], workdir), []
    if name == "launch":
        from bench.launch_ticks import bench_launch
        return bench_launch(REPEATS["launch"][pick], workdir), []
    if name == "delta":
        from bench.delta_backend import bench_delta
        return bench_delta(REPEATS["delta"][pick], 1_000_000 if not quick else 200_000, workdir), []
    raise ValueError(f"unknown benchmark section {name!r}; expected some of {SECTIONS}")


def summary_line(result: Result) -> str:
    ratio = "" if result.baseline is None else f"  ratio {result.ratio_min:.2f}x (min) / {result.ratio_median:.2f}x (median)"
    verdict = {None: "", True: "  goal met", False: "  GOAL MISSED"}[result.met]
    values = ", ".join(f"{v:.3f}" for v in result.ours.values)
    return f"  {result.benchmark}: ours [{values}] {result.unit}{ratio}{verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a few minutes)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    parser.add_argument("--workdir", type=Path, default=None, help="where temporary stores go (default: system temp)")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; expected some of {list(SECTIONS)}")
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    results: list[Result] = []
    problems: list[str] = []
    command = "bench/run.py" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only != ",".join(SECTIONS) else "")
    for section in sections:
        print(f"[{time.perf_counter() - started:6.0f} s] {section} ...", flush=True)
        try:
            rows, failed = run_section(section, args.quick, args.workdir)
        except Exception as exc:  # one broken section must not lose the others' figures
            traceback.print_exc()
            rows, failed = [], [f"{section}: {type(exc).__name__}: {str(exc)[:500]}"]
        results += rows
        problems += failed
        for row in rows:
            print(summary_line(row), flush=True)
        args.output.write_text(render(results, machine(), command=command,
                                      seconds=time.perf_counter() - started, problems=problems))
    print(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    missed = [r.benchmark for r in results if r.met is False]
    if missed:
        print("goals missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
