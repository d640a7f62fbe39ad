"""A stand-in for a trainer's job process in the fleet tests (no GPU on the test machine).

Writes what it was given (CUDA_VISIBLE_DEVICES) and when it ran to ``$FLEET_RECORD``,
then pretends to train for ``max_steps / 10`` seconds and reports an output. A data set
job is handed to the real runner after its line is written. It stops when its worker
dies, as the real runner does.
"""

from __future__ import annotations

import json
import os
import sys
import time


def record(**fields) -> None:
    with open(os.environ["FLEET_RECORD"], "a", encoding="utf-8") as out:
        out.write(json.dumps(fields) + "\n")


def main(argv: list[str]) -> int:
    path = argv[0]
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    parent = os.getppid()
    mark = dict(
        run=int(spec["run_id"]), job=spec["job_id"], pid=os.getpid(), cvd=os.environ.get("CUDA_VISIBLE_DEVICES")
    )
    if spec["component_type"] != "model-trainer":
        record(**mark, start=time.time(), end=None)
        os.execv(sys.executable, [sys.executable, "-m", "runner", "--spec", path, "--remove-spec"])
    os.unlink(path)
    start = time.time()
    record(**mark, start=start, end=None)
    deadline = start + int(spec["config"].get("max_steps") or 10) / 10
    while time.time() < deadline:
        if os.getppid() != parent:  # the worker is gone
            return 1
        time.sleep(0.05)
    record(**mark, start=start, end=time.time())
    print(
        json.dumps(
            {
                "type": "output",
                "job": spec["job_id"],
                "ts": time.time(),
                "value": {"global_step": 1, "cuda_visible_devices": mark["cvd"]},
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
