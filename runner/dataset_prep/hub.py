"""Hugging Face Hub access rules: a quick reachability probe, offline mode, remote code."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit

from compose.envvars import EnvError, parse_bool
from compose.jobspec import REMOTE_CODE_ENV, JobFailed

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 3.0


def _env(name: str, extra: Mapping[str, str]) -> str:
    return extra.get(name) or os.environ.get(name, "")


def _switch(name: str, extra: Mapping[str, str]) -> bool:
    """A switch of the job's environment, read as every switch is (:mod:`compose.envvars`:
    1/true/yes/on in any case); a value that is no switch fails the job naming it rather than
    quietly taking one side."""
    try:
        return parse_bool(name, _env(name, extra))
    except EnvError as exc:
        raise JobFailed(f"the job's environment: {exc}") from None


def hub_offline(extra_env: Mapping[str, str]) -> bool:
    """``HF_HUB_OFFLINE``, for data set and training jobs alike."""
    return _switch("HF_HUB_OFFLINE", extra_env)


def hub_endpoint(extra_env: Mapping[str, str]) -> str:
    return (_env("HF_ENDPOINT", extra_env) or DEFAULT_ENDPOINT).rstrip("/")


def remote_code_allowed(extra_env: Mapping[str, str]) -> bool:
    return _switch(REMOTE_CODE_ENV, extra_env)


def check_remote_code(trust_remote_code: bool, extra_env: Mapping[str, str]) -> None:
    if trust_remote_code and not remote_code_allowed(extra_env):
        raise JobFailed(
            "trust_remote_code: true is refused: running a data set's own code is off here. On the web "
            "an admin allows it per workspace (allow_remote_code); from the command line, set "
            f"{REMOTE_CODE_ENV}=1. Otherwise remove trust_remote_code or load the data files with "
            "provider: local."
        )


def probe(endpoint: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None when a TCP connection to the endpoint opens within the timeout, else the reason.

    The connect runs in a thread because name resolution has no timeout of its own.
    """
    parts = urlsplit(endpoint)
    host = parts.hostname
    if not host:
        return f"{endpoint!r} is not a URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    result: dict[str, str] = {}

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result["ok"] = ""
        except OSError as exc:
            result["error"] = str(exc) or type(exc).__name__

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if "ok" in result:
        return None
    return result.get("error") or f"no answer within {timeout_s:g} s"


@contextmanager
def offline_mode(extra_env: Mapping[str, str]) -> Iterator[None]:
    """Make the libraries honour HF_HUB_OFFLINE=1 even when it was set after they were imported.

    datasets and huggingface_hub read the variable once, at import; a job run in-process
    (the CLI, tests) may get it later, from the job's environment.
    """
    if not hub_offline(extra_env):
        yield
        return
    import datasets.config
    import huggingface_hub.constants

    saved = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved


def unreachable_message(endpoint: str, reason: str) -> str:
    return (
        f"the Hugging Face Hub ({endpoint}) is unreachable from this machine ({reason}). "
        "To work without it, load local files (provider: local, loader: json|csv|parquet|text, "
        "data_files: ...), or point cache_dir at a cache that already holds this data set and "
        "set HF_HUB_OFFLINE=1."
    )


def ensure_reachable(extra_env: Mapping[str, str]) -> None:
    """Fail in seconds, not after half a minute of retries, when the hub cannot be reached."""
    if hub_offline(extra_env):
        return  # the datasets library reads its cache only
    endpoint = hub_endpoint(extra_env)
    reason = probe(endpoint)
    if reason is not None:
        raise JobFailed(unreachable_message(endpoint, reason))
