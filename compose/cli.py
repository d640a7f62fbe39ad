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
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, TextIO

if TYPE_CHECKING:
    from compose.loader import ParseResult

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
DEFAULT_MODEL_ENV: dict[str, str] = {
    "sft": "COMPOSE_DEFAULT_SFT_MODEL",
    "classification": "COMPOSE_DEFAULT_CLASSIFICATION_MODEL",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compose", description="Validate, export and run model-compose training files.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES)
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
    run.add_argument("-i", "--inputs", dest="inputs_json", metavar="JSON",
                     help="inputs as a JSON object, or @FILE to read one")
    run.add_argument("--input", action="append", default=[], metavar="KEY=VALUE",
                     help="one input (repeatable); typed by the workflow's input schema")
    run.add_argument("--env-file", action="append", default=[], type=Path, metavar="FILE",
                     help="KEY=VALUE lines added to the environment ${env.*} reads")
    run.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE",
                     help="one environment value for ${env.*} (repeatable)")
    run.add_argument("--storage", type=Path, metavar="DIR",
                     help="where data sets are materialized (default: $COMPOSE_STORAGE_DIR or "
                          "<file folder>/.compose/storage)")
    run.add_argument("--model-default", action="append", default=[], metavar="TASK=PATH",
                     help="base model for trainers without model: (sft=..., classification=...)")
    run.add_argument("--overwrite-output", action="store_true",
                     help="let a trainer start afresh in an output_dir that holds an earlier run's "
                          "checkpoints (they are removed); without it such a run refuses to start")

    from compose import remote

    remote.add_parsers(commands)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "remote_handler", None) is not None:
        from compose.remote import run_command

        return run_command(args)
    handler = {"validate": _validate, "export": _export, "inputs": _inputs, "run": _run}[args.command]
    try:
        return handler(args)
    except _Usage as exc:
        print(f"compose {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED


class _Usage(Exception):
    """A plain message for the user; the command exits 1."""


# --- validate / export / inputs ----------------------------------------------------------------

def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Usage(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _parse_file(path: Path) -> ParseResult:
    """A compose file parsed; one over the size limit is a problem, and no more of it than
    the limit is read (an 18 MB file, or /dev/zero, costs nothing)."""
    from compose.loader import ParseResult, parse
    from compose.yamlio.limits import MAX_BYTES, size_problem

    try:
        with path.open(encoding="utf-8") as file:
            text = file.read(MAX_BYTES + 1)  # characters, each at least one byte
    except (OSError, UnicodeDecodeError) as exc:
        raise _Usage(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
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
        except _Usage as exc:
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
    from compose.exporter import export_yaml

    doc = _load(args.file, sys.stderr)
    if doc is None:
        return EXIT_FAILED
    # Over the file's own text: an export in the dialect it is written in keeps comments.
    sys.stdout.write(export_yaml(doc, args.dialect, original=_read(args.file)))
    return EXIT_OK


def _inputs(args: argparse.Namespace) -> int:
    from compose.errors import ComposeError
    from compose.inputs import workflow_inputs

    doc = _load(args.file, sys.stderr)
    if doc is None:
        return EXIT_FAILED
    try:
        specs = workflow_inputs(doc, args.workflow)
    except ComposeError as exc:
        raise _Usage("; ".join(p.message for p in exc.problems)) from None
    print(json.dumps([spec.to_dict() for spec in specs], indent=2, ensure_ascii=False))
    return EXIT_OK


# --- run --------------------------------------------------------------------------------

def _run(args: argparse.Namespace) -> int:
    import threading

    from compose.engine import WorkflowCancelled, WorkflowFailed, run_workflow
    from compose.errors import ComposeError
    from runner.launch import SubprocessExecutor

    doc = _load(args.file, sys.stderr)
    if doc is None:
        return EXIT_FAILED
    base_dir = args.file.resolve().parent
    inputs = _parse_inputs(args.inputs_json, args.input)
    extra_env = _parse_env(args.env_file, args.env)
    env = {**os.environ, **extra_env}
    storage = args.storage or (Path(os.environ["COMPOSE_STORAGE_DIR"]) if os.environ.get(
        "COMPOSE_STORAGE_DIR") else base_dir / ".compose" / "storage")
    secrets = [v for v in extra_env.values() if v] + env_secrets(doc, env)
    models = default_models(args.model_default)
    printer = EventPrinter(sys.stderr, secrets=secrets)
    cancel = threading.Event()

    def on_interrupt(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        printer.line("compose: cancelling, waiting for the jobs to stop (Ctrl-C again to quit)...")
        cancel.set()

    # Ctrl-C sets ``cancel``: the engine stops its jobs (their whole process groups) cleanly.
    previous = _install_sigint(on_interrupt)
    try:
        value = run_workflow(
            doc, args.workflow, inputs, executor=SubprocessExecutor(), base_dir=base_dir,
            storage_dir=Path(storage).resolve(), env=env, run_id=_run_id(), on_event=printer,
            cancel=cancel, default_models=models, secrets=secrets, allow_absolute_paths=True,
            overwrite_output=args.overwrite_output)
    except KeyboardInterrupt:
        printer.finish()
        return EXIT_CANCELLED
    except ComposeError as exc:
        printer.finish()
        for problem in exc.problems:
            print(problem if problem.line is not None else
                  f"{args.file}: {problem.path}: {problem.message}", file=sys.stderr)
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
    import signal
    import threading

    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, handler)


def _run_id() -> str:
    import time
    import uuid

    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _parse_inputs(inputs_json: Optional[str], pairs: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if inputs_json:
        text = _read(Path(inputs_json[1:])) if inputs_json.startswith("@") else inputs_json
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise _Usage(f"-i is not a JSON object: {exc}") from None
        if not isinstance(loaded, dict):
            raise _Usage("-i must be a JSON object: {\"name\": value, ...}")
        values.update(loaded)
    for pair in pairs:
        key, value = _key_value(pair, f"--input {pair!r}: write KEY=VALUE")
        values[key] = value
    return values


def _key_value(text: str, usage: str) -> tuple[str, str]:
    """``KEY=VALUE`` split at the first ``=``, the key stripped; ``usage`` when malformed."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise _Usage(usage)
    return key.strip(), value


def _parse_env(files: Sequence[Path], pairs: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for path in files:
        for number, line in enumerate(_read(path).splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, value = _key_value(line.removeprefix("export ").strip(), f"{path}:{number}: expected KEY=VALUE")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[key] = value
    for pair in pairs:
        key, value = _key_value(pair, f"-e {pair!r}: write KEY=VALUE")
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
            raise _Usage(f"--model-default {pair!r}: write sft=PATH or classification=PATH")
        models[task] = value
    for task, value in models.items():
        if value.startswith(("./", "../", "/", "~")) or Path(value).exists():
            models[task] = str(Path(value).expanduser().resolve())
    return models


def env_secrets(doc: Any, env: Mapping[str, str]) -> list[str]:
    """Values of the environment variables the document reads through ``${env.*}``."""
    from compose.bindings import BindingError, find_bindings

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


# --- what a run shows on stderr ----------------------------------------------------------

class EventPrinter:
    """Renders job events as lines on ``stream``; progress is a bar when it is a terminal.

    Every known secret is replaced by ``***`` before anything is written.
    """

    BAR_WIDTH = 24
    PLAIN_PROGRESS_EVERY_S = 2.0

    def __init__(self, stream: TextIO, *, secrets: Sequence[str] = (), tty: Optional[bool] = None):
        self.stream = stream
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.tty = stream.isatty() if tty is None else tty
        self._bar_shown = False
        self._last_plain: dict[str, float] = {}

    def __call__(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        job = event.get("job") or "run"
        if kind == "progress":
            self._progress(job, event)
        elif kind == "log":
            level = event.get("level", "info")
            if level != "debug":
                prefix = "" if level == "info" else f"{level}: "
                self.line(f"[{job}] {prefix}{event.get('message', '')}")
        elif kind == "metric":
            self.line(f"[{job}] {format_metric(event)}")
        elif kind == "status":
            message = event.get("message") or ""
            self.line(f"[{job}] {event.get('status')}" + (f": {message}" if message else ""))
        elif kind == "artifact":
            size = event.get("size_bytes")
            self.line(f"[{job}] {event.get('kind')}: {event.get('path')}"
                      + (f" ({human_size(size)})" if size is not None else ""))

    def line(self, text: str) -> None:
        self._clear_bar()
        self.stream.write(self.redact(text) + "\n")
        self.stream.flush()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def finish(self) -> None:
        if self._bar_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_shown = False

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\x1b[2K")
            self._bar_shown = False

    def _progress(self, job: str, event: Mapping[str, Any]) -> None:
        import time

        current, total = event.get("current") or 0, event.get("total")
        unit, stage = event.get("unit") or "", event.get("stage") or ""
        done = total is not None and current >= total
        eta = event.get("eta_s")
        counts = f"{current}/{total} {unit}" if total else f"{current} {unit}"
        tail = f" eta {human_duration(eta)}" if eta is not None and not done else ""
        label = f"[{job}] {stage + ' ' if stage else ''}"
        if self.tty:
            bar = ""
            if total:
                filled = int(self.BAR_WIDTH * min(current, total) / total)
                bar = "[" + "#" * filled + "-" * (self.BAR_WIDTH - filled) + "] "
            self._clear_bar()
            self.stream.write(self.redact(f"{label}{bar}{counts}{tail}"))
            self._bar_shown = True
            if done:
                self.finish()
            else:
                self.stream.flush()
            return
        now = time.monotonic()
        if done or now - self._last_plain.get(job, float("-inf")) >= self.PLAIN_PROGRESS_EVERY_S:
            self._last_plain[job] = now
            self.line(f"{label}{counts}{tail}")


def format_metric(event: Mapping[str, Any]) -> str:
    """``step 10 epoch 0.5 loss=1.234 learning_rate=5e-05`` (eval metrics marked as such)."""
    head = f"step {event.get('step')}"
    if event.get("epoch") is not None:
        head += f" epoch {event['epoch']:.2f}"
    if event.get("split") == "eval":
        head += " eval"
    values = event.get("values") or {}
    parts = [f"{name}={value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool)
             else f"{name}={value}" for name, value in values.items()]
    return " ".join([head, *parts])


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def human_duration(seconds: float) -> str:
    """The one duration format of every layer (``compose.humanize``)."""
    from compose.humanize import human_duration as words

    return words(seconds)


if __name__ == "__main__":
    sys.exit(main())
