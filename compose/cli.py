"""``compose``: validate, export, list the inputs of, and run compose files on this machine.

    compose validate FILE...
    compose export FILE --dialect seed|nested
    compose inputs FILE [WORKFLOW]
    compose run FILE [WORKFLOW] [-i JSON] [--input k=v ...] [--env-file F] [-e K=V]
                [--storage DIR] [--model-default task=PATH]

    compose remote login URL | submit FILE [WORKFLOW] -w W | runs | logs RUN [-f] | cancel RUN
    compose download RUN [ARTIFACT] -o DIR      (a compose-web server: compose.remote)

``run`` prints the workflow's output as JSON on stdout and the jobs' logs, progress
and metrics on stderr. Exit codes: 0 ok, 1 failed (or invalid), 2 usage, 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from compose import remote
from compose.bindings import BindingError, find_bindings
from compose.console import EventPrinter, Usage, key_value, parse_inputs, read_text
from compose.engine import WorkflowCancelled, WorkflowFailed, run_workflow
from compose.errors import ComposeError
from compose.exporter import export_yaml
from compose.inputs import workflow_inputs
from compose.jobenv import DEFAULT_MODEL_ENV
from compose.jobspec import JobExecutor
from compose.loader import ParseResult, parse
from compose.need import run_need
from compose.yamlio.limits import MAX_BYTES, size_problem

# What runs a job: the core never imports the runner, so whoever starts the command line
# hands it in (runner.cli: the ``compose`` console script, with runner.launch's executor).
ExecutorFactory = Callable[[], JobExecutor]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 130
EXAMPLES = """\
examples:
  compose validate train.yaml
  compose inputs train.yaml train-custom
  compose run train.yaml train-custom --input template='Q: {instruction} A: {output}' \\
      --model-default sft=./models/base -e HF_TOKEN=hf_...
  compose export train.yaml --dialect nested > train.nested.yaml

exit codes: 0 ok, 1 invalid or failed, 2 usage, 130 cancelled (Ctrl-C)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compose",
        description="Validate, export and run model-compose training files.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check compose files and report every problem")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")

    export = commands.add_parser("export", help="write a compose file in the seed or nested dialect")
    export.add_argument("file", type=Path, metavar="FILE")
    export.add_argument("--dialect", choices=("seed", "nested"), default="seed")

    inputs = commands.add_parser("inputs", help="the inputs a workflow takes, as JSON")
    inputs.add_argument("file", type=Path, metavar="FILE")
    inputs.add_argument("workflow", nargs="?", metavar="WORKFLOW")

    run = commands.add_parser("run", help="run a workflow's jobs on this machine")
    run.add_argument("file", type=Path, metavar="FILE")
    run.add_argument("workflow", nargs="?", metavar="WORKFLOW")
    run.add_argument(
        "-i", "--inputs", dest="inputs_json", metavar="JSON", help="inputs as a JSON object, or @FILE to read one"
    )
    run.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one input (repeatable); typed by the workflow's input schema",
    )
    run.add_argument(
        "--env-file",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="KEY=VALUE lines added to the environment ${env.*} reads",
    )
    run.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one environment value for ${env.*} (repeatable)",
    )
    run.add_argument(
        "--storage",
        type=Path,
        metavar="DIR",
        help="where data sets are materialized (default: $COMPOSE_STORAGE_DIR or <file folder>/.compose/storage)",
    )
    run.add_argument(
        "--model-default",
        action="append",
        default=[],
        metavar="TASK=PATH",
        help="base model for trainers without model: (sft=..., classification=...)",
    )
    run.add_argument(
        "--overwrite-output",
        action="store_true",
        help="let a trainer start afresh in an output_dir that holds an earlier run's "
        "checkpoints (they are removed); without it such a run refuses to start",
    )

    remote.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None, *, executor_factory: ExecutorFactory | None = None) -> int:
    """Run one command. ``compose run`` needs ``executor_factory`` (what starts each job);
    the other commands run without one."""
    args = build_parser().parse_args(argv)
    if getattr(args, "remote_handler", None) is not None:
        return remote.run_command(args)
    args.executor_factory = executor_factory
    handler = {"validate": _validate, "export": _export, "inputs": _inputs, "run": _run}[args.command]
    try:
        return handler(args)
    except Usage as exc:
        print(f"compose {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED


# --- validate / export / inputs ----------------------------------------------------------------


def _parse_file(path: Path) -> ParseResult:
    """A compose file parsed; one over the size limit is a problem, and no more of it than
    the limit is read (an 18 MB file, or /dev/zero, costs nothing)."""
    try:
        with path.open(encoding="utf-8") as file:
            text = file.read(MAX_BYTES + 1)  # characters, each at least one byte
    except (OSError, UnicodeDecodeError) as exc:
        raise Usage(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if len(text) > MAX_BYTES:
        too_large = size_problem(max(len(text), _size(path)), str(path))
        return ParseResult(file=None, problems=[too_large] if too_large else [], source=str(path))
    return parse(text, source=str(path))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for path in args.files:
        try:
            result = _parse_file(path)
        except Usage as exc:
            print(f"error: {exc}")
            status = EXIT_FAILED
            continue
        for problem in result.problems:
            print(problem)
        if result.ok and result.file is not None:
            print(f"ok: {path} - {summary(result.file)}")
        else:
            count = len(result.errors)
            print(f"invalid: {path} - {count} error{'s' if count != 1 else ''}")
            status = EXIT_FAILED
    return status


def summary(doc: Any) -> str:
    """``3 components, 1 workflow (train-custom: 3 jobs)``."""
    workflows = ", ".join(f"{w.id}: {_count(len(w.jobs), 'job')}" for w in doc.workflows)
    text = f"{_count(len(doc.components), 'component')}, {_count(len(doc.workflows), 'workflow')}"
    return f"{text} ({workflows})" if workflows else text


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _load(path: Path, out: TextIO) -> Any:
    """The document, or None after printing every error of the file."""
    result = _parse_file(path)
    for problem in result.problems:
        print(problem, file=out)
    if not result.ok:
        return None
    return result.file


def _export(args: argparse.Namespace) -> int:
    doc = _load(args.file, sys.stderr)
    if doc is None:
        return EXIT_FAILED
    # Over the file's own text: an export in the dialect it is written in keeps comments.
    sys.stdout.write(export_yaml(doc, args.dialect, original=read_text(args.file)))
    return EXIT_OK


def _inputs(args: argparse.Namespace) -> int:
    doc = _load(args.file, sys.stderr)
    if doc is None:
        return EXIT_FAILED
    try:
        specs = workflow_inputs(doc, args.workflow)
    except ComposeError as exc:
        raise Usage("; ".join(p.message for p in exc.problems)) from None
    print(json.dumps([spec.to_dict() for spec in specs], indent=2, ensure_ascii=False))
    return EXIT_OK


# --- run --------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    if args.executor_factory is None:
        raise Usage("this entry point runs no jobs; use the compose command (python -m runner.cli)")
    doc = _load(args.file, sys.stderr)
    if doc is None:
        return EXIT_FAILED
    base_dir = args.file.resolve().parent
    inputs = parse_inputs(args.inputs_json, args.input)
    extra_env = _parse_env(args.env_file, args.env)
    env = {**os.environ, **extra_env}
    storage = args.storage or (
        Path(os.environ["COMPOSE_STORAGE_DIR"])
        if os.environ.get("COMPOSE_STORAGE_DIR")
        else base_dir / ".compose" / "storage"
    )
    secrets = [v for v in extra_env.values() if v] + env_secrets(doc, env)
    models = default_models(args.model_default)
    printer = EventPrinter(sys.stderr, secrets=secrets)
    cancel = threading.Event()
    labels = run_need(doc, args.workflow).labels
    if labels:
        printer.line(
            f"compose: resources.labels ({', '.join(labels)}) choose a server's worker; "
            "this run starts here, on this machine"
        )

    def on_interrupt(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        printer.line("compose: cancelling, waiting for the jobs to stop (Ctrl-C again to quit)...")
        cancel.set()

    # Ctrl-C sets ``cancel``: the engine stops its jobs (their whole process groups) cleanly.
    previous = _install_sigint(on_interrupt)
    try:
        value = run_workflow(
            doc,
            args.workflow,
            inputs,
            executor=args.executor_factory(),
            base_dir=base_dir,
            storage_dir=Path(storage).resolve(),
            env=env,
            run_id=_run_id(),
            on_event=printer,
            cancel=cancel,
            default_models=models,
            secrets=secrets,
            allow_absolute_paths=True,
            overwrite_output=args.overwrite_output,
        )
    except KeyboardInterrupt:
        printer.finish()
        return EXIT_CANCELLED
    except ComposeError as exc:
        printer.finish()
        for problem in exc.problems:
            print(
                problem if problem.line is not None else f"{args.file}: {problem.path}: {problem.message}",
                file=sys.stderr,
            )
        return EXIT_FAILED
    except WorkflowCancelled:
        printer.finish()
        print("compose: the run was cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except WorkflowFailed as exc:
        printer.finish()
        print(f"compose: {printer.redact(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        _install_sigint(previous)
    printer.finish()
    print(json.dumps(value, indent=2, ensure_ascii=False))
    return EXIT_OK


def _install_sigint(handler: Any) -> Any:
    """Set the SIGINT handler where Python allows it (the main thread); return the old one."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, handler)


def _run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _parse_env(files: Sequence[Path], pairs: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for path in files:
        for number, line in enumerate(read_text(path).splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, value = key_value(line.removeprefix("export ").strip(), f"{path}:{number}: expected KEY=VALUE")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[key] = value
    for pair in pairs:
        key, value = key_value(pair, f"-e {pair!r}: write KEY=VALUE")
        env[key] = value
    return env


def default_models(pairs: Sequence[str], environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Task -> base model from COMPOSE_DEFAULT_*_MODEL and ``--model-default task=path``.

    A value naming an existing path (or starting with ./, ../, /) is made absolute
    against the current folder; anything else is a hub id and kept as is.
    """
    models = {task: environ[name] for task, name in DEFAULT_MODEL_ENV.items() if environ.get(name)}
    for pair in pairs:
        task, sep, value = pair.partition("=")
        if not sep or task not in DEFAULT_MODEL_ENV or not value:
            raise Usage(f"--model-default {pair!r}: write sft=PATH or classification=PATH")
        models[task] = value
    for task, value in models.items():
        if value.startswith(("./", "../", "/", "~")) or Path(value).exists():
            models[task] = str(Path(value).expanduser().resolve())
    return models


def env_secrets(doc: Any, env: Mapping[str, str]) -> list[str]:
    """Values of the environment variables the document reads through ``${env.*}``."""
    names: set[str] = set()
    values: list[Any] = [c.fields for c in doc.components] + [c.actions for c in doc.components]
    values += [[job.input, job.output] for w in doc.workflows for job in w.jobs]
    for value in values:
        try:
            found = find_bindings(value)
        except BindingError:
            continue
        names.update(b.name for b in found if b.source == "env" and b.name)
    return [env[name] for name in sorted(names) if env.get(name)]


if __name__ == "__main__":
    sys.exit(main())
