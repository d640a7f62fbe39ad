"""Hub loads without a network: a quick, clear failure; tokens never reach an event."""

from __future__ import annotations

import json
import socket
import time

import pytest

from runner.dataset_prep.hub import DEFAULT_ENDPOINT, probe

TOKEN = "hf_tEsTtOkEn0123456789SECRET"


def _closed_port_endpoint() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused at once
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def imported():
    """Import the libraries first: the time limits are about the network, not about imports."""
    import datasets  # noqa: F401

    import runner.dataset_prep.loading  # noqa: F401


def _assert_unreachable_message(message: str, endpoint: str):
    assert f"the Hugging Face Hub ({endpoint}) is unreachable" in message
    assert "provider: local" in message and "cache_dir" in message and "HF_HUB_OFFLINE=1" in message


def test_unreachable_endpoint_fails_fast(jobs, imported):
    endpoint = _closed_port_endpoint()
    started = time.monotonic()
    message = jobs.fail(
        "load", provider="huggingface", path="tatsu-lab/alpaca", split="train", env={"HF_ENDPOINT": endpoint}
    )
    assert time.monotonic() - started < 5
    _assert_unreachable_message(message, endpoint)


@pytest.mark.skipif(probe(DEFAULT_ENDPOINT, timeout_s=3) is None, reason="this machine reaches the hub")
def test_offline_machine_fails_within_seconds(jobs, imported):
    started = time.monotonic()
    message = jobs.fail("load", provider="huggingface", path="tatsu-lab/alpaca", split="train")
    assert time.monotonic() - started < 5
    _assert_unreachable_message(message, DEFAULT_ENDPOINT)


def test_hf_hub_offline_reads_the_cache_only(jobs, tmp_path, imported):
    started = time.monotonic()
    message = jobs.fail("load", path="tatsu-lab/alpaca", cache_dir=str(tmp_path / "cache"), env={"HF_HUB_OFFLINE": "1"})
    assert time.monotonic() - started < 5
    assert "cannot load 'tatsu-lab/alpaca'" in message and "only data sets already in the cache load" in message


@pytest.mark.parametrize("switch", ["on", "TRUE", "yes"])
def test_hf_hub_offline_reads_every_spelling_of_on(jobs, tmp_path, imported, switch):
    message = jobs.fail(
        "load", path="tatsu-lab/alpaca", cache_dir=str(tmp_path / "cache"), env={"HF_HUB_OFFLINE": switch}
    )
    assert "only data sets already in the cache load" in message


def test_hf_hub_offline_with_a_typo_fails_the_job_naming_it(jobs, tmp_path, imported):
    message = jobs.fail(
        "load", path="tatsu-lab/alpaca", cache_dir=str(tmp_path / "cache"), env={"HF_HUB_OFFLINE": "ture"}
    )
    assert "HF_HUB_OFFLINE='ture' is not a boolean" in message


def test_token_never_appears_in_events(jobs):
    endpoint = _closed_port_endpoint()
    jobs.fail("load", provider="huggingface", path="tatsu-lab/alpaca", token=TOKEN, env={"HF_ENDPOINT": endpoint})
    # Even an error text that quotes the token (here through the path) is redacted.
    jobs.fail("load", provider="huggingface", path=f"org/{TOKEN}", token=TOKEN, env={"HF_HUB_OFFLINE": "1"})
    text = json.dumps(jobs.events)
    assert TOKEN not in text
    assert "***" in text


def test_trust_remote_code_needs_the_workspace_switch(jobs, monkeypatch):
    monkeypatch.delenv("COMPOSE_ALLOW_REMOTE_CODE", raising=False)
    message = jobs.fail("load", path="some/scripted-set", trust_remote_code=True)
    assert "trust_remote_code: true is refused" in message and "COMPOSE_ALLOW_REMOTE_CODE=1" in message
    endpoint = _closed_port_endpoint()
    message = jobs.fail(
        "load",
        path="some/scripted-set",
        trust_remote_code=True,
        env={"COMPOSE_ALLOW_REMOTE_CODE": "1", "HF_ENDPOINT": endpoint},
    )
    _assert_unreachable_message(message, endpoint)  # allowed: it went on to the network


def test_hub_fingerprint_reuse_needs_no_network(jobs, alpaca_rows):
    # A hub load that was materialized once reruns from storage, even offline.
    from datasets import Dataset

    from compose.schema.components import DatasetsComponent
    from runner.context import RunContext
    from runner.dataset_prep.job import _plan
    from runner.dataset_prep.materialize import fingerprint, save

    rows = alpaca_rows(4)
    spec = jobs.spec("load", path="tatsu-lab/alpaca", split="train", env={"HF_ENDPOINT": _closed_port_endpoint()})
    key, _ = _plan(RunContext(spec=spec, emit=jobs.events.append), DatasetsComponent(**spec.config), "load")
    save(Dataset.from_list(rows), jobs.storage, fingerprint(key))
    from runner.main import run_job

    ref = run_job(spec, jobs.events.append)
    assert ref["reused"] is True and jobs.rows(ref) == rows


def test_data_files_with_a_hub_path_go_to_the_hub(jobs, imported):
    endpoint = _closed_port_endpoint()
    message = jobs.fail(
        "load",
        provider="huggingface",
        path="org/set",
        data_files={"train": "train/*.parquet"},
        env={"HF_ENDPOINT": endpoint},
    )
    _assert_unreachable_message(message, endpoint)
