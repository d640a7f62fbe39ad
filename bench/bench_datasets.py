"""Datasets operations through compose-web vs the same operation written with ``datasets``.

    python -m bench.bench_datasets [--rows 1000000] [--repeat 2]

Each operation runs as a real job (``runner.main.run_job`` in-process: validation,
fingerprint, the operation, ``save_to_disk`` of the result, the summary) and as a
direct ``datasets`` script that does the same work (``load_from_disk``, the batched
operation, ``save_to_disk``). Both read the same materialized input, in the same
process, in turns; the best of ``--repeat`` runs of each counts. The ratio is baseline time /
our time: 1.0 means no overhead, the target is >= 0.95.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEMPLATE = "### Instruction:\n{instruction}\n### Input:\n{input}\n### Response:\n{output}"
CONDITION = 'len(output) > 20 and input == ""'


def generate_rows(path: Path, rows: int) -> None:
    """A Parquet file of alpaca-like rows whose lengths and blanks vary with the index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    chunk = 100_000
    writer = None
    for start in range(0, rows, chunk):
        ids = range(start, min(rows, start + chunk))
        table = pa.table(
            {
                "instruction": [f"Explain item {i} in plain words." for i in ids],
                "input": ["" if i % 3 == 0 else f"context for {i}" for i in ids],
                "output": ["answer " + "x" * (i % 45) for i in ids],
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def best_of_interleaved(
    repeat: int, first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Best (wall, CPU) seconds of two runs taken in turns (order swapped each round).

    CPU time (this process, user + system) is printed beside wall time because on a
    shared machine other processes stretch wall time at random; CPU time barely moves.
    """
    walls: tuple[list[float], list[float]] = ([], [])
    cpus: tuple[list[float], list[float]] = ([], [])
    for round_ in range(repeat):
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        for which in order:
            wall, cpu = time.perf_counter(), time.process_time()
            (first, second)[which]()
            walls[which].append(time.perf_counter() - wall)
            cpus[which].append(time.process_time() - cpu)
    return (min(walls[0]), min(cpus[0])), (min(walls[1]), min(cpus[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_datasets", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)

    import datasets
    from datasets import concatenate_datasets, load_from_disk

    from compose.jobspec import JobSpec
    from runner.dataset_prep.materialize import dataset_dir
    from runner.main import run_job

    datasets.disable_progress_bars()
    work = Path(tempfile.mkdtemp(prefix="bench-datasets-"))
    storage = work / "storage"
    try:
        generate_rows(work / "rows.parquet", args.rows)
        events: list[dict[str, Any]] = []

        def spec(method: str, **config: Any) -> JobSpec:
            return JobSpec(
                run_id="bench",
                job_id=method,
                component_id="data",
                component_type="datasets",
                method=method,
                config={"id": "data", **config},
                base_dir=str(work),
                storage_dir=str(storage),
            )

        source = run_job(spec("load", loader="parquet", data_files="rows.parquet"), events.append)
        half = run_job(spec("select", dataset=source, axis="rows", indices=list(range(args.rows // 2))), events.append)
        source_dir = str(dataset_dir(storage, source["fingerprint"]))
        half_dir = str(dataset_dir(storage, half["fingerprint"]))

        def ours(job: JobSpec) -> Callable[[], None]:
            def run() -> None:
                ref = run_job(job, events.append)
                assert not ref["reused"]
                shutil.rmtree(dataset_dir(storage, ref["fingerprint"]))  # so the next run builds again

            return run

        def baseline(operation: Callable[[Path], Any]) -> Callable[[], None]:
            def run() -> None:
                scratch = Path(tempfile.mkdtemp(dir=work))
                operation(scratch).save_to_disk(str(scratch / "out"))
                shutil.rmtree(scratch)

            return run

        def direct_map(scratch: Path):
            def render(instruction, input, output):
                return {
                    "text": [
                        f"### Instruction:\n{a}\n### Input:\n{b}\n### Response:\n{c}"
                        for a, b, c in zip(instruction, input, output, strict=True)
                    ]
                }

            return load_from_disk(source_dir).map(
                render,
                batched=True,
                input_columns=["instruction", "input", "output"],
                cache_file_name=str(scratch / "map.arrow"),
            )

        def direct_filter(scratch: Path):
            def keep(output, input):
                return [len(o) > 20 and i == "" for o, i in zip(output, input, strict=True)]

            return load_from_disk(source_dir).filter(
                keep, batched=True, input_columns=["output", "input"], cache_file_name=str(scratch / "filter.arrow")
            )

        def direct_concat(scratch: Path):
            return concatenate_datasets([load_from_disk(source_dir), load_from_disk(half_dir)])

        cases = [
            ("map", spec("map", dataset=source, template=TEMPLATE), direct_map),
            ("filter", spec("filter", dataset=source, condition=CONDITION), direct_filter),
            ("concat", spec("concat", datasets=[source, half]), direct_concat),
        ]
        print(f"{args.rows:,} rows, best of {args.repeat}\n")
        print(
            f"{'operation':<10} {'datasets wall/cpu (s)':>22} {'compose wall/cpu (s)':>21} "
            f"{'wall ratio':>11} {'cpu ratio':>10}"
        )
        wall_ratios, cpu_ratios = [], []
        for name, job, direct in cases:
            (base_wall, base_cpu), (ours_wall, ours_cpu) = best_of_interleaved(args.repeat, baseline(direct), ours(job))
            wall_ratios.append(base_wall / ours_wall)
            cpu_ratios.append(base_cpu / ours_cpu)
            print(
                f"{name:<10} {base_wall:>11.2f} / {base_cpu:<8.2f} {ours_wall:>10.2f} / {ours_cpu:<8.2f} "
                f"{wall_ratios[-1]:>11.2f} {cpu_ratios[-1]:>10.2f}"
            )
        worst_wall, worst_cpu = min(wall_ratios), min(cpu_ratios)
        verdict = "meets" if worst_wall >= 0.95 else "misses"
        print(
            f"\nworst ratio (baseline time / compose time, target >= 0.95): wall {worst_wall:.2f}, "
            f"cpu {worst_cpu:.2f}; wall time {verdict} the target"
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
