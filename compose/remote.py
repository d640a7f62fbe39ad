"""``compose remote login``, ``submit``, ``runs``, ``logs``, ``cancel``, ``download``: the
client of a compose-web server, over its REST API (``/api/v1/``, described by its
OpenAPI document) and nothing else.

Standard library only (``urllib``), so the light install needs no HTTP package. The
server's URL and token are kept in ``$XDG_CONFIG_HOME/compose/remote.json`` (mode 0600);
``COMPOSE_SERVER`` and ``COMPOSE_TOKEN`` override them.

Exit codes follow ``compose run``: 0 the run succeeded (or the command did its work),
1 failed, refused or unreachable, 2 usage, 130 cancelled or detached with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from compose.console import EventPrinter, Usage, human_size, parse_inputs, read_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 130
API = "/api/v1"
# The stream sends a comment every 15 s; a read that waits this long means the link is gone.
STREAM_READ_TIMEOUT_S = 60.0
RECONNECT_TRIES = 5
OUTCOME_EXIT = {"succeeded": EXIT_OK, "failed": EXIT_FAILED, "interrupted": EXIT_FAILED, "cancelled": EXIT_CANCELLED}


class RemoteError(Exception):
    """Something to tell the user in one or a few lines; the command exits 1."""

    def __init__(self, message: str, status: int | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


# --- configuration -------------------------------------------------------------------------


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "compose" / "remote.json"


def load_config(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The stored server and token, each overridden by ``COMPOSE_SERVER`` / ``COMPOSE_TOKEN``."""
    stored: dict[str, Any] = {}
    path = config_path(environ)
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RemoteError(f"{path} is not JSON ({exc}); run compose remote login again") from None
    url = environ.get("COMPOSE_SERVER") or stored.get("url") or ""
    token = environ.get("COMPOSE_TOKEN") or stored.get("token") or ""
    if not url or not token:
        raise RemoteError("no server: run compose remote login URL (or set COMPOSE_SERVER and COMPOSE_TOKEN)")
    return {"url": url, "token": token}


def save_config(url: str, token: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Write the file readable by its owner only (it holds a token that acts as them)."""
    path = config_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"url": url, "token": token}, out, indent=2)
        out.write("\n")
    os.chmod(temporary, 0o600)  # an older file of the same name may have had looser bits
    os.replace(temporary, path)
    return path


# --- HTTP ----------------------------------------------------------------------------------


class Client:
    """The API at ``url`` with ``token``; every method raises :class:`RemoteError`."""

    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def page_url(self, path: str) -> str:
        return self.url + path

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        url = self.url + API + path
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "", [])}, doseq=True)
            url += ("&" if "?" in url else "?") + query if query else ""
        data = None
        all_headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": "compose-remote/1",
        }
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            raise _http_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach {self.url}: {reason}") from None

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        with self._request(method, path, body, params) as response:
            return json.loads(response.read() or b"null")

    def pages(self, path: str, limit: int | None = None, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paged list (up to ``limit``), following ``next``."""
        count = 0
        page = self.call("GET", path, **params)
        while True:
            for item in page["results"]:
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            if not page.get("next"):
                return
            # Only the path and query of ``next`` are used: the token never goes to a host
            # the server's answer names, only to the one the user logged in to.
            parts = urllib.parse.urlsplit(page["next"])
            path = parts.path[parts.path.index(API) + len(API) :] if API in parts.path else parts.path
            page = self.call("GET", f"{path}?{parts.query}" if parts.query else path)

    def open(self, path: str, timeout: float | None = None, **params: Any) -> Any:
        """The raw response (a download, or the event stream)."""
        return self._request("GET", path, params=params, timeout=timeout)

    def events(self, run_id: int, after: int = 0) -> Iterator[dict[str, Any]]:
        """Follow the run's server-sent events from ``after`` until it ends; the last item
        is ``{"end": {"status", "last_seq"}}``. A dropped link is resumed from the last seq."""
        tries = 0
        while True:
            try:
                response = self.open(f"/runs/{run_id}/events/stream", timeout=STREAM_READ_TIMEOUT_S, after=after)
                with response:
                    for kind, data in _sse(response):
                        tries = 0
                        if kind == "end":
                            yield {"end": data}
                            return
                        after = data["seq"]
                        yield data
                raise OSError("the stream closed before the run ended")
            except (OSError, RemoteError) as exc:
                if isinstance(exc, RemoteError) and exc.status is not None:
                    raise
                tries += 1
                if tries > RECONNECT_TRIES:
                    raise RemoteError(f"lost the event stream of run {run_id}: {exc}") from None
                time.sleep(min(5.0, 0.5 * 2**tries))


def _http_error(exc: urllib.error.HTTPError) -> RemoteError:
    try:
        errors = json.loads(exc.read() or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    if exc.code == 401:
        return RemoteError(
            "the server refused the token (401): run compose remote login again, or check COMPOSE_TOKEN", 401, errors
        )
    message = "; ".join(_error_line(e) for e in errors) or f"HTTP {exc.code} {exc.reason}"
    return RemoteError(message, exc.code, errors)


def _error_line(error: Mapping[str, Any], source: str = "") -> str:
    where = ":".join(str(p) for p in (source, error.get("line"), error.get("column")) if p not in (None, ""))
    path = error.get("path") or ""
    text = f"{path}: {error.get('message', '')}" if path else str(error.get("message", ""))
    return f"{where}: {text}" if where else text


def _sse(response: Any) -> Iterator[tuple[str, Any]]:
    """(event name, parsed data) of each server-sent event on ``response``."""
    kind, data = "message", list[str]()
    while True:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield kind, json.loads("\n".join(data))
            kind, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)


# --- commands ------------------------------------------------------------------------------


def add_parsers(commands: Any) -> None:
    """Add the server commands to ``compose``'s subcommands."""
    remote = commands.add_parser("remote", help="connect to a compose-web server")
    remote_commands = remote.add_subparsers(dest="remote_command", required=True, metavar="COMMAND")
    login = remote_commands.add_parser("login", help="store the server's URL and an API token")
    login.add_argument("url", metavar="URL", help="the server, e.g. https://compose.example.org")
    login.add_argument("--token", help="the API token (default: $COMPOSE_TOKEN, else asked for)")
    login.set_defaults(remote_handler=_login)

    submit = commands.add_parser(
        "submit",
        help="upload a compose file to the server, run a workflow there and follow it",
        description="Upload FILE as a document of the workspace (created, or replaced by name), "
        "queue a run of WORKFLOW and show its events as compose run does. Ctrl-C asks "
        "whether to cancel the run or only stop following it.",
    )
    submit.add_argument("file", type=Path, metavar="FILE")
    submit.add_argument("workflow", nargs="?", metavar="WORKFLOW")
    submit.add_argument("-w", "--workspace", required=True, metavar="W", help="the workspace's slug")
    submit.add_argument("--name", help="the document's name on the server (default: the file's stem)")
    submit.add_argument(
        "-i", "--inputs", dest="inputs_json", metavar="JSON", help="inputs as a JSON object, or @FILE to read one"
    )
    submit.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one input (repeatable); typed by the workflow's input schema",
    )
    submit.add_argument("--detach", action="store_true", help="queue the run and exit at once")
    submit.set_defaults(remote_handler=_submit)

    runs = commands.add_parser("runs", help="list runs on the server, newest first")
    runs.add_argument("-w", "--workspace", metavar="W")
    runs.add_argument(
        "--status",
        action="append",
        default=[],
        choices=("queued", "running", "succeeded", "failed", "cancelled", "interrupted"),
    )
    runs.add_argument("--document", type=int, metavar="ID")
    runs.add_argument("--user", metavar="NAME")
    runs.add_argument("-n", "--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true", help="one JSON object per line")
    runs.set_defaults(remote_handler=_runs)

    logs = commands.add_parser("logs", help="show a run's events (-f: follow until it ends)")
    logs.add_argument("run", type=int, metavar="RUN")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(remote_handler=_logs)

    cancel = commands.add_parser("cancel", help="cancel a run on the server")
    cancel.add_argument("run", type=int, metavar="RUN")
    cancel.set_defaults(remote_handler=_cancel)

    download = commands.add_parser("download", help="download a run's folder or one artifact")
    download.add_argument("run", type=int, metavar="RUN")
    download.add_argument(
        "artifact",
        nargs="?",
        metavar="ARTIFACT",
        help="an artifact's id, or the end of its path (default: the whole run as a zip)",
    )
    download.add_argument("-o", "--output", type=Path, default=Path("."), metavar="DIR")
    download.set_defaults(remote_handler=_download)


def run_command(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = args.remote_handler
    try:
        return handler(args)
    except RemoteError as exc:
        name = "remote login" if args.command == "remote" else args.command
        print(f"compose {name}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _client() -> Client:
    config = load_config()
    return Client(config["url"], config["token"])


def _login(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("COMPOSE_TOKEN") or _ask_token()
    parsed = urllib.parse.urlsplit(args.url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise RemoteError(f"{args.url!r} is not an http(s) URL")
    client = Client(args.url, token.strip())
    workspaces = [w["slug"] for w in client.pages("/workspaces")]
    path = save_config(client.url, client.token)
    print(
        f"Logged in to {client.url}; workspaces: {', '.join(workspaces) or 'none'}. Saved in {path}.", file=sys.stderr
    )
    return EXIT_OK


def _ask_token() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("API token (from the server's API tokens page): ")
    return sys.stdin.readline().strip()


def _submit(args: argparse.Namespace) -> int:
    try:
        text = read_text(args.file)
        inputs = parse_inputs(args.inputs_json, args.input)
    except Usage as exc:
        raise RemoteError(str(exc)) from None
    client = _client()
    name = args.name or args.file.stem
    try:
        document = _upload(client, args.workspace, name, text)
    except RemoteError as exc:
        if exc.status in (400, 422) and exc.errors:
            for error in exc.errors:
                print(_error_line(error, str(args.file)), file=sys.stderr)
            return EXIT_FAILED
        raise
    try:
        run = client.call("POST", "/runs", {"document": document["id"], "workflow": args.workflow, "inputs": inputs})
    except RemoteError as exc:
        if exc.status == 400 and exc.errors:
            for error in exc.errors:
                print(_error_line(error, str(args.file)), file=sys.stderr)
            return EXIT_FAILED
        raise
    page = client.page_url(f"/runs/{run['id']}/")
    print(f"compose: run {run['id']} queued: {page}", file=sys.stderr)
    if args.detach:
        print(json.dumps({"run": run["id"]}))
        return EXIT_OK
    return follow(client, run["id"], sys.stderr, ask_on_interrupt=True)


def _upload(client: Client, workspace: str, name: str, text: str) -> dict[str, Any]:
    """The document ``name`` of ``workspace`` with ``text``: created, replaced or left as it is."""
    found = list(client.pages("/documents", workspace=workspace, name=name))
    document: dict[str, Any]
    if not found:
        document = client.call("POST", "/documents", {"workspace": workspace, "name": name, "yaml": text})
        return document
    document = client.call("GET", f"/documents/{found[0]['id']}")
    if document["yaml"] != text:
        document = client.call("PUT", f"/documents/{document['id']}", {"yaml": text})
    return document


def follow(
    client: Client,
    run_id: int,
    stream: TextIO,
    after: int = 0,
    ask_on_interrupt: bool = False,
    stdout: TextIO = sys.stdout,
) -> int:
    """Show the run's events as ``compose run`` shows a local run's; the exit code is the
    run's outcome. Ctrl-C asks whether to cancel the run on the server or only detach."""
    printer = EventPrinter(stream)
    end: dict[str, Any] | None = None
    while end is None:
        try:
            for item in client.events(run_id, after):
                if "end" in item:
                    end = item["end"]
                    break
                after = item["seq"]
                printer(item["event"])
        except KeyboardInterrupt:
            printer.finish()
            if not ask_on_interrupt or not _ask_cancel(run_id, stream):
                print(f"compose: detached; the run goes on. Follow it with: compose logs {run_id} -f", file=stream)
                return EXIT_CANCELLED
            ask_on_interrupt = False  # a second Ctrl-C detaches
            try:
                client.call("POST", f"/runs/{run_id}/cancel")
                printer.line(
                    f"compose: cancel requested for run {run_id}; waiting for it to stop (Ctrl-C again to detach)..."
                )
            except RemoteError as exc:
                printer.line(f"compose: could not cancel: {exc}")
    printer.finish()
    run = client.call("GET", f"/runs/{run_id}")
    status = run["status"]
    if status == "succeeded":
        print(json.dumps(run.get("output"), indent=2, ensure_ascii=False), file=stdout)
    elif status == "cancelled":
        print("compose: the run was cancelled", file=stream)
    else:
        print(f"compose: run {run_id} {status}" + (f": {run['error']}" if run.get("error") else ""), file=stream)
    return OUTCOME_EXIT.get(status, EXIT_FAILED)


def _ask_cancel(run_id: int, stream: TextIO) -> bool:
    stream.write(f"\nCancel run {run_id} on the server, or detach and let it go on? [c]ancel / [d]etach: ")
    stream.flush()
    try:
        answer = sys.stdin.readline()
    except (KeyboardInterrupt, OSError):
        return False
    return answer.strip().lower() in ("c", "cancel", "y", "yes")


def _runs(args: argparse.Namespace) -> int:
    client = _client()
    runs = client.pages(
        "/runs", limit=args.limit, workspace=args.workspace, status=args.status, document=args.document, user=args.user
    )
    if args.json:
        for run in runs:
            print(json.dumps(run))
        return EXIT_OK
    rows = [
        (
            str(r["id"]),
            r["status"],
            r["workspace"],
            r.get("document_name") or "-",
            r["workflow"],
            r["created"][:19].replace("T", " "),
            r.get("created_by") or "-",
        )
        for r in runs
    ]
    header = ("RUN", "STATUS", "WORKSPACE", "DOCUMENT", "WORKFLOW", "CREATED", "BY")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
    return EXIT_OK


def _logs(args: argparse.Namespace) -> int:
    client = _client()
    if args.follow:
        return follow(client, args.run, sys.stderr)
    printer = EventPrinter(sys.stderr)
    after = 0
    while True:
        page = client.call("GET", f"/runs/{args.run}/events", after=after, limit=1000)
        for item in page["events"]:
            printer(item["event"])
        after = page["last_seq"]
        if not page["more"]:
            break
    printer.finish()
    return EXIT_OK


def _cancel(args: argparse.Namespace) -> int:
    run = _client().call("POST", f"/runs/{args.run}/cancel")
    state = "cancel requested" if run["status"] == "running" else run["status"]
    print(f"run {run['id']}: {state}", file=sys.stderr)
    return EXIT_OK


def _download(args: argparse.Namespace) -> int:
    client = _client()
    if args.artifact is None:
        path = f"/runs/{args.run}/download"
    else:
        artifact = _find_artifact(client.call("GET", f"/runs/{args.run}/artifacts"), args.artifact)
        path = f"/runs/{args.run}/artifacts/{artifact['id']}/download"
    args.output.mkdir(parents=True, exist_ok=True)
    with client.open(path, timeout=300) as response:
        name = _attachment_name(response.headers.get("Content-Disposition", "")) or f"run-{args.run}.bin"
        target = args.output / name
        partial = target.with_name(target.name + ".part")
        size = 0
        with open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
        os.replace(partial, target)
    print(f"{target} ({human_size(size)})", file=sys.stderr)
    return EXIT_OK


def _find_artifact(artifacts: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    if wanted.isdigit():
        for artifact in artifacts:
            if artifact["id"] == int(wanted):
                return artifact
    matches = [a for a in artifacts if a["path"].rstrip("/").endswith(wanted.rstrip("/"))]
    if len(matches) == 1:
        return matches[0]
    listing = "; ".join(f"{a['id']} {a['kind']} {a['path']}" for a in artifacts) or "none"
    raise RemoteError(f"{'several artifacts match' if matches else 'no artifact'} {wanted!r}; the run has: {listing}")


def _attachment_name(header: str) -> str | None:
    """The file name of a Content-Disposition header, reduced to a plain name."""
    from email.message import Message

    message = Message()
    message["Content-Disposition"] = header
    name = message.get_filename()
    if not name:
        return None
    name = Path(name.replace("\\", "/")).name
    return name if name not in ("", ".", "..") else None
