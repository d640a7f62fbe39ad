"""``HF_HUB_OFFLINE`` means the same to data set jobs and training jobs: one reader
(compose.envvars) for both, so ``on`` no longer keeps a training job online."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.jobspec import JobFailed
from runner.dataset_prep.hub import hub_offline
from runner.finetune import model as model_lib

ON = ["1", "true", "TRUE", "yes", "on", "On"]
OFF = ["0", "false", "no", "off", ""]


@pytest.fixture
def no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """An offline job never probes the hub; an online one here finds it reachable."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(model_lib, "hub_reachable", lambda *a, **k: True)
    monkeypatch.setattr(model_lib, "_in_cache", lambda repo_id: True)


def _training_source(tmp_path: Path) -> model_lib.ModelSource:
    return model_lib.resolve_source("example-org/tiny-model", "model", lambda value: tmp_path / value)


@pytest.mark.parametrize("switch", ON)
def test_every_spelling_of_on_makes_both_kinds_of_job_offline(switch, tmp_path, monkeypatch, no_probe) -> None:
    assert hub_offline({"HF_HUB_OFFLINE": switch}) is True  # a data set job, from the job's env
    monkeypatch.setenv("HF_HUB_OFFLINE", switch)
    assert hub_offline({}) is True  # ... or the worker's
    assert _training_source(tmp_path).local_files_only is True  # a training job


@pytest.mark.parametrize("switch", OFF)
def test_every_spelling_of_off_leaves_both_online(switch, tmp_path, monkeypatch, no_probe) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", switch)
    assert hub_offline({}) is False
    assert _training_source(tmp_path).local_files_only is False


def test_a_typo_fails_either_kind_of_job_naming_the_variable(tmp_path, monkeypatch, no_probe) -> None:
    with pytest.raises(JobFailed, match="HF_HUB_OFFLINE='ture' is not a boolean"):
        hub_offline({"HF_HUB_OFFLINE": "ture"})
    monkeypatch.setenv("HF_HUB_OFFLINE", "ture")
    with pytest.raises(JobFailed, match="HF_HUB_OFFLINE='ture' is not a boolean"):
        _training_source(tmp_path)


def test_the_remote_code_switch_is_read_the_same_way(monkeypatch) -> None:
    from runner.dataset_prep.hub import remote_code_allowed

    monkeypatch.delenv("COMPOSE_ALLOW_REMOTE_CODE", raising=False)
    assert remote_code_allowed({}) is False
    assert remote_code_allowed({"COMPOSE_ALLOW_REMOTE_CODE": "1"}) is True
    assert remote_code_allowed({"COMPOSE_ALLOW_REMOTE_CODE": "yes"}) is True
    with pytest.raises(JobFailed, match="COMPOSE_ALLOW_REMOTE_CODE='maybe' is not a boolean"):
        remote_code_allowed({"COMPOSE_ALLOW_REMOTE_CODE": "maybe"})
