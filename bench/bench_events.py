"""Events: how fast the worker stores them, and how soon the run pages see them.

    python -m bench.bench_events                       # SQLite (embedded) only
    DATABASE_URL=postgres://... REDIS_URL=redis://... python -m bench.bench_events
    python -m bench.bench_events --baseline-tree /tmp/old   # latency of an older checkout too

1. **Storing.** The same trainer-like events (logs, metrics, progress, a checkpoint now
   and then) in batches of 200, as the worker's recorder hands them over, through
   ``record_events`` and through the one-event-at-a-time path it replaced (kept here as
   ``old_record_events``: a savepoint, an UPDATE and a SELECT of ``last_seq``, an INSERT
   and the derived rows' own queries per event). Prints events/s, queries/event, ratio.
   On SQLite, and on PostgreSQL when ``DATABASE_URL`` is set (a scratch database
   ``<name>_bench_events`` is made beside it).
2. **Runner -> browser.** A web process (daphne) and a writer process (the worker's
   ``EventRecorder``, 20 events/s stamped with the time they were made) on a migrated
   database; 1, 50 and 200 websocket viewers of the run, connected as a real browser
   does. Prints the p50/p95 latency from an event's ``ts`` to its arrival, the events
   each viewer missed, and the web process's CPU (cores). Embedded (SQLite, in-memory
   layer, the 0.5 s poll) and, with ``REDIS_URL``, PostgreSQL + Redis. With
   ``--baseline-tree``, the same against the web and writer code of that checkout.

Not a test; CI does not run it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY = base64.urlsafe_b64encode(b"b" * 32).decode()


def scratch_postgres(url: str) -> str:
    import psycopg

    base, _, name = url.rpartition("/")
    scratch = f"{name}_bench_events"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        conn.execute(f'CREATE DATABASE "{scratch}"')
    return f"{base}/{scratch}"


def stack_env(var: Path, database_url: str | None, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "compose_web.settings",
            "COMPOSE_VAR_DIR": str(var),
            "COMPOSE_WORKSPACES_DIR": str(var / "workspaces"),
            "COMPOSE_STORAGE_DIR": str(var / "storage"),
            "COMPOSE_SECRETS_KEY": KEY,
            "SECRET_KEY": "bench-events",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("COMPOSE_EVENT_POLL_S", None)  # the defaults: 0.5 s embedded, 2 s with Redis
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CHANNELS_PREFIX"] = f"bench-events-{os.getpid()}"
    return env


def trainer_events(n: int, job: str = "train", now: bool = False) -> list[dict[str, Any]]:
    from compose import events as ev

    out: list[dict[str, Any]] = []
    for i in range(n):
        k = i % 10
        if k in (0, 1, 2, 3):
            e = ev.log(job, f"step {i}: loss 1.234, lr 1e-4, grad_norm 0.5")
        elif k in (4, 5, 6):
            e = ev.metric(job, i, {"loss": 1.0 / (i + 1), "learning_rate": 1e-4, "grad_norm": 0.5}, epoch=i / 1000)
        elif k in (7, 8):
            e = ev.progress(job, i, n, unit="steps", stage="train")
        else:
            e = ev.artifact(job, "checkpoint", f"/out/checkpoint-{i}", size_bytes=i, step=i)
        out.append(e)
    return out


# -- the path record_events replaced, kept as the baseline ---------------------------------


def old_record_events(run: Any, events: list[dict[str, Any]]) -> tuple[int, int]:
    from datetime import UTC, datetime

    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from compose.jsonvalue import jsonable
    from training.models import Artifact, JobRun, MetricPoint, Run, RunEvent

    def job_row(job: str) -> Any:
        return JobRun.objects.get_or_create(run_id=run.pk, job_id=job)[0]

    def apply(event: dict[str, Any]) -> None:
        job, kind = str(event.get("job") or ""), event.get("type")
        if kind == "metric" and job:
            MetricPoint.objects.bulk_create(
                [
                    MetricPoint(run_id=run.pk, job_id=job, step=event["step"], name=name, value=value)
                    for name, value in event["values"].items()
                ]
            )
        elif kind == "artifact" and job:
            Artifact.objects.create(run_id=run.pk, job_id=job, kind=event["kind"], path=event["path"])
        elif kind == "progress" and job:
            job_row(job)
            JobRun.objects.filter(run_id=run.pk, job_id=job).update(
                progress_current=event.get("current"), progress_total=event.get("total")
            )
        elif kind == "status" and job:
            JobRun.objects.filter(pk=job_row(job).pk).update(status=event["status"])

    stored = failed = 0
    with transaction.atomic():
        for event in events:
            try:
                with transaction.atomic(), transaction.atomic():
                    Run.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
                    seq = Run.objects.filter(pk=run.pk).values_list("last_seq", flat=True).get()
                    ts = event.get("ts")
                    when = datetime.fromtimestamp(ts, tz=UTC) if isinstance(ts, float) else timezone.now()
                    payload = jsonable(event)
                    RunEvent.objects.create(
                        run_id=run.pk, seq=seq, type=payload["type"], job_id=payload["job"], payload=payload, ts=when
                    )
                    apply(payload)
                stored += 1
            except Exception:
                failed += 1
    return stored, failed


def bench_storage(label: str, total: int, batch: int) -> list[tuple[str, float, float]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from training.actions import record_events
    from training.models import JobRun, Run, Workspace

    ws, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    events = trainer_events(total)
    batches = [events[i : i + batch] for i in range(0, total, batch)]
    rows = []
    for name, write in (("one at a time (old)", old_record_events), ("batch", record_events)):
        run = Run.objects.create(workspace=ws, workflow_id="w", yaml_snapshot="")
        JobRun.objects.create(run=run, job_id="train")
        with CaptureQueriesContext(connection) as queries:
            write(run, batches[0])
        per_event = len(queries) / len(batches[0])
        start = time.perf_counter()
        for b in batches[1:]:
            write(run, b)
        rate = sum(len(b) for b in batches[1:]) / (time.perf_counter() - start)
        rows.append((name, rate, per_event))
    print(f"\n## storing {total} events in batches of {batch}: {label}")
    print(f"{'path':<22}{'events/s':>12}{'queries/event':>16}")
    for name, rate, per_event in rows:
        print(f"{name:<22}{rate:>12.0f}{per_event:>16.3f}")
    print(f"ratio batch / old: {rows[1][1] / rows[0][1]:.1f}x events/s, {rows[0][2] / rows[1][2]:.0f}x fewer queries")
    return rows


# -- websocket viewers ---------------------------------------------------------------------


class Viewer:
    """A minimal websocket client (RFC 6455, text frames) that records each event's delay."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.seqs: list[int] = []

    async def run(self, port: int, path: str, cookie: str, stop: asyncio.Event, connected: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\n"
                f"Cookie: {cookie}\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"handshake refused: {head[:100]!r}")
        connected.set()
        try:
            while not stop.is_set():
                try:
                    b0, b1 = await asyncio.wait_for(reader.readexactly(2), timeout=0.5)
                except TimeoutError:
                    continue
                size = b1 & 0x7F
                if size == 126:
                    size = int.from_bytes(await reader.readexactly(2), "big")
                elif size == 127:
                    size = int.from_bytes(await reader.readexactly(8), "big")
                data = await reader.readexactly(size)
                arrived = time.time()
                opcode = b0 & 0x0F
                if opcode == 8:
                    return
                if opcode != 1:
                    continue
                message = json.loads(data)
                if message.get("type") == "event":
                    self.seqs.append(message["seq"])
                    ts = message["event"].get("ts")
                    if isinstance(ts, (int, float)) and message["event"].get("job") == "train":
                        self.delays.append(arrived - ts)
        finally:
            writer.close()


WRITER = """
import sys, time, django
django.setup()
from compose import events as ev
from training.models import Run
from training.worker.recorder import EventRecorder
run = Run.objects.get(pk=int(sys.argv[1]))
rate, seconds = float(sys.argv[2]), float(sys.argv[3])
recorder = EventRecorder(run)
n = int(rate * seconds)
start = time.time()
for i in range(n):
    delay = start + i / rate - time.time()
    if delay > 0:
        time.sleep(delay)
    recorder(ev.log("train", f"step {i}") if i % 3 else ev.metric("train", i, {"loss": 1.0 / (i + 1)}))
recorder.close()
print(n)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the web server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("the web server did not answer")


def latency(tree: Path, env: dict[str, str], viewers: int, rate: float, seconds: float) -> dict[str, float]:
    import psutil
    from django.test import Client

    from training.models import Membership, Run, Workspace

    User = __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model()
    user, _ = User.objects.get_or_create(username="viewer")
    ws, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    Membership.objects.get_or_create(user=user, workspace=ws, defaults={"role": Membership.Role.OWNER})
    run = Run.objects.create(workspace=ws, workflow_id="w", yaml_snapshot="", status="running")
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    port = free_port()
    run_env = {**env, "PYTHONPATH": str(tree)}
    web = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "compose_web.asgi:application"],
        cwd=tree,
        env=run_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(port, web)
        web_ps = psutil.Process(web.pid)

        async def watch() -> tuple[list[Viewer], float, float]:
            stop = asyncio.Event()
            pages = [Viewer() for _ in range(viewers)]
            ready = [asyncio.Event() for _ in pages]
            tasks = []
            for page, event in zip(pages, ready, strict=True):
                tasks.append(asyncio.create_task(page.run(port, f"/ws/runs/{run.pk}/?after=0", cookie, stop, event)))
                await asyncio.sleep(0.005)
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), timeout=120)
            await asyncio.sleep(1.0)
            cpu0 = sum(web_ps.cpu_times()[:2])
            t0 = time.monotonic()
            writer = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WRITER, str(run.pk), str(rate), str(seconds), cwd=tree, env=run_env
            )
            await writer.wait()
            total = int(rate * seconds)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(len(p.seqs) < total for p in pages):
                await asyncio.sleep(0.1)
            cpu = (sum(web_ps.cpu_times()[:2]) - cpu0) / (time.monotonic() - t0)
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            return pages, cpu, total

        pages, cpu, total = asyncio.run(watch())
    finally:
        os.killpg(web.pid, 15)
        web.wait(10)
    delays = sorted(d for p in pages for d in p.delays)
    missed = sum(max(0, int(total) - len(set(p.seqs))) for p in pages)
    dup_or_disorder = sum(p.seqs != sorted(set(p.seqs)) for p in pages)
    q = statistics.quantiles(delays, n=100) if len(delays) > 1 else [float("nan")] * 99
    return {"p50": q[49], "p95": q[94], "missed": missed, "bad_order": dup_or_disorder, "cpu": cpu}


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    for name in ("DATABASE_URL", "REDIS_URL"):
        if name not in env:
            os.environ.pop(name, None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=4000, help="events stored per path")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--viewers", default="1,50,200")
    parser.add_argument("--rate", type=float, default=20.0, help="events/s the writer makes")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--baseline-tree", type=Path, help="a checkout whose web and writer code is the baseline")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    var = Path(tempfile.mkdtemp(prefix="bench-events-"))
    setups: list[tuple[str, str | None, str | None]] = [("embedded (SQLite, in-memory layer)", None, None)]
    if database_url:
        setups.append(("PostgreSQL + Redis" if redis_url else "PostgreSQL", scratch_postgres(database_url), redis_url))
    # Django is set up once per process: each set-up runs in a child of this one.
    if os.environ.get("BENCH_EVENTS_SETUP") is None:
        for i, (label, db, redis) in enumerate(setups):
            env = stack_env(var / f"s{i}", db, redis)
            (var / f"s{i}").mkdir(parents=True)
            env["BENCH_EVENTS_SETUP"] = label
            subprocess.run([sys.executable, "-m", "bench.bench_events", *(argv or sys.argv[1:])], cwd=ROOT, env=env)
        return

    label = os.environ["BENCH_EVENTS_SETUP"]
    setup_django(dict(os.environ))
    print(f"\n# {label}   (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)")
    bench_storage(label, args.events, args.batch)
    if args.skip_latency:
        return
    trees = [("this tree", ROOT)] + ([("baseline", args.baseline_tree.resolve())] if args.baseline_tree else [])
    print(f"\n## runner -> browser, {args.rate:g} events/s for {args.seconds:g} s: {label}")
    print(f"{'code':<12}{'viewers':>8}{'p50 ms':>9}{'p95 ms':>9}{'missed':>8}{'web CPU':>9}")
    results: dict[tuple[str, int], dict[str, float]] = {}
    for n in [int(v) for v in args.viewers.split(",")]:
        for name, tree in trees:
            r = latency(tree, dict(os.environ), n, args.rate, args.seconds)
            results[(name, n)] = r
            print(
                f"{name:<12}{n:>8}{r['p50'] * 1000:>9.0f}{r['p95'] * 1000:>9.0f}{r['missed']:>8}{r['cpu']:>9.2f}"
                + ("  OUT OF ORDER" if r["bad_order"] else ""),
                flush=True,
            )
        if ("baseline", n) in results:
            b, r = results[("baseline", n)], results[("this tree", n)]
            print(f"{'':<12}{'':>8}  p95 ratio baseline / this tree: {b['p95'] / r['p95']:.1f}x")


if __name__ == "__main__":
    main()
