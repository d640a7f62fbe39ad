"""Which physical GPU each placed run used, on a machine with GPUs.

    python -m bench.gpu.fleet_gpus            # real GPUs (nvidia-smi)
    python -m bench.gpu.fleet_gpus --fake 2   # the plumbing only, on a machine without GPUs

Starts one worker (``manage.py run_huey``) on this machine with placement on, against a
private SQLite database and queue in a temporary folder; queues two 1-GPU runs of a tiny
Llama and, when the machine has two GPUs or more, one 2-GPU run (torchrun, 2 processes).
While they run it asks ``nvidia-smi`` every half second which process computes on which
GPU, reads each process's ``CUDA_VISIBLE_DEVICES`` from /proc and so finds its run, then
prints for each run the GPUs it claimed and the physical GPUs nvidia-smi saw it use.

Needs the server's packages (Django, Huey, Channels: ``pip install .[server,train]``) as
well as the training ones; the wheels bench/gpu/wheels.sh carries are the training ones
only. With ``--fake`` on a machine without GPUs the trainers fail (no CUDA device), but
the placement is shown: two 1-GPU runs at once on GPUs 0 and 1, the 2-GPU run after them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TRAINER = """\
components:
  - id: rows
    type: datasets
    provider: local
    loader: json
    data_files: ./data/rows.jsonl
  - id: trainer
    type: model-trainer
    task: sft
    text_column: text
    max_steps: {steps}
    save_steps: 100000
    logging_steps: 10
    per_device_train_batch_size: 8
    resources:
      gpus: {gpus}
workflows:
  - id: train
    jobs:
      - id: load
        component: rows
      - id: train
        component: trainer
        depends_on: [load]
        input:
          dataset: ${{jobs.load.output}}
"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fake", type=int, default=0, help="pretend this many GPUs (no training on them)")
    parser.add_argument("--steps", type=int, default=400, help="training steps of each run")
    parser.add_argument("--timeout", type=float, default=420, help="seconds to wait for the runs")
    return parser.parse_args(argv)


def gpu_uuids() -> dict[str, int]:
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=index,uuid", "--format=csv,noheader"], capture_output=True, text=True, check=True
    ).stdout
    return {uuid.strip(): int(index) for index, uuid in (line.split(",") for line in out.splitlines() if line)}


def compute_apps() -> list[tuple[int, str]]:
    out = subprocess.run(
        ["nvidia-smi", "--query-compute-apps=pid,gpu_uuid", "--format=csv,noheader"], capture_output=True, text=True
    ).stdout
    apps = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit():
            apps.append((int(parts[0]), parts[1]))
    return apps


def visible_devices(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for item in raw.split(b"\0"):
        if item.startswith(b"CUDA_VISIBLE_DEVICES="):
            return item.split(b"=", 1)[1].decode()
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    has_smi = shutil.which("nvidia-smi") is not None
    if not args.fake and not has_smi:
        print("no nvidia-smi on this machine: use --fake N to check the plumbing", file=sys.stderr)
        return 2
    var = Path(tempfile.mkdtemp(prefix="fleet-gpus-"))
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "COMPOSE_VAR_DIR": str(var),
            "COMPOSE_PLACEMENT": "1",
            "HUEY_WORKERS": "3",
            "COMPOSE_HEARTBEAT_S": "1",
            "COMPOSE_WORKER_NAME": "bench-gpu",
            "COMPOSE_FAKE_GPUS": str(args.fake),
            "DJANGO_SETTINGS_MODULE": "compose_web.settings",
            "PYTHONPATH": str(ROOT),
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from tests.fixtures.tiny_models import build_tiny_causal_lm
    from training.actions import create_document, enqueue_run
    from training.models import Gpu, Membership, Run, Worker, Workspace

    user = get_user_model().objects.create_user("bench", "bench@example.org", "bench-password")
    ws = Workspace.objects.create(name="Bench", slug="bench")
    Membership.objects.create(user=user, workspace=ws, role=Membership.Role.OWNER)
    ws.default_sft_model = str(build_tiny_causal_lm(var / "tiny-llama"))
    ws.save()
    (ws.root / "data").mkdir(parents=True)
    rows = [{"text": f"### Instruction: say {i}\n### Response: {i} {i} {i}"} for i in range(256)]
    (ws.root / "data" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    log = var / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--workers", "3"],
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    seen: dict[int, set[int]] = {}
    try:
        deadline = time.monotonic() + 120
        while not Gpu.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        count = Gpu.objects.count()
        worker_row = Worker.objects.first()
        print(
            f"worker {worker_row.name if worker_row else '?'}: {count} GPU(s)"
            f"{' (fake)' if worker_row and worker_row.fake_gpus else ''}"
        )
        if not count:
            print(log.read_text()[-3000:])
            return 1
        needs = [1, 1] + ([2] if count >= 2 else [])
        runs = []
        for i, gpus in enumerate(needs):
            doc = create_document(ws, user, f"train-{i}-{gpus}gpu", TRAINER.format(steps=args.steps, gpus=gpus))
            runs.append(enqueue_run(doc, "train", {}, user))
        uuids = gpu_uuids() if has_smi and not args.fake else {}
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            held = {}
            for gpu in Gpu.objects.filter(run__isnull=False).order_by("index"):
                held.setdefault(gpu.run_id, []).append(str(gpu.index))
            by_devices = {",".join(v): run_id for run_id, v in held.items()}
            for pid, uuid in compute_apps() if uuids else []:
                run_id = by_devices.get(visible_devices(pid) or "")
                if run_id is not None and uuid in uuids:
                    seen.setdefault(run_id, set()).add(uuids[uuid])
            if not Run.objects.filter(pk__in=[r.pk for r in runs], status__in=["queued", "running"]).exists():
                break
            time.sleep(0.5)
        print(
            f"{'run':>5}  {'needs':>5}  {'status':<10} {'claimed (CUDA_VISIBLE_DEVICES)':<32} "
            "physical GPU seen by nvidia-smi"
        )
        for run in runs:
            run.refresh_from_db()
            started = (
                run.events.filter(payload__message__startswith="Started on worker")
                .values_list("payload", flat=True)
                .first()
                if hasattr(run, "events")
                else None
            )
            claimed = (started or {}).get("message", "").partition(" on GPU ")[2] or "-"
            physical = ", ".join(map(str, sorted(seen.get(run.pk, ())))) or "-"
            print(f"{run.pk:>5}  {run.need_gpus:>5}  {run.status:<10} {claimed:<32} {physical}")
            if run.error:
                print(f"       error: {run.error[:300]}")
        return 0
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
        print(f"worker log: {log}")


if __name__ == "__main__":
    sys.exit(main())
