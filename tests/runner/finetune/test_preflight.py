"""Problems reported before any model or data loads: offline hub ids, precision, config."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from compose.jobspec import JobFailed
from runner.finetune import args as trainer_args
from runner.finetune import model as model_lib
from runner.finetune.job import preflight
from tests.fixtures import data
from tests.fixtures.training import run_trainer, trainer_spec


@pytest.fixture
def hub_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.mark.slow
def test_hub_id_without_network_fails_fast_and_clearly(tmp_path: Path, hub_unreachable) -> None:
    import os

    import runner.finetune.job  # noqa: F401  (import time is not what is measured)

    spec = trainer_spec(tmp_path, Path("example-org/tiny-model"), data.text_rows(4), text_column="text")
    started = time.monotonic()
    with pytest.raises(JobFailed) as raised:
        run_trainer(spec)
    assert time.monotonic() - started < 10
    assert "'example-org/tiny-model' is not a local folder and the Hugging Face Hub cannot be reached" in str(
        raised.value
    )
    assert raised.value.message.startswith("model: ")
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_probe_follows_hf_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")  # a name that never resolves
    started = time.monotonic()
    assert model_lib.hub_reachable(timeout=0.5) is False
    assert time.monotonic() - started < 2
    with socket.socket() as server:  # a mirror that answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert model_lib.hub_reachable(timeout=0.5) is True


@pytest.mark.slow
def test_missing_local_folder_is_not_taken_for_a_hub_id(tmp_path: Path) -> None:
    spec = trainer_spec(tmp_path, "./models/base", data.text_rows(4), text_column="text")
    with pytest.raises(JobFailed, match=r"model: folder './models/base' not found"):
        run_trainer(spec)


def _cfg(**fields):
    from compose.schema.components import TrainerComponent

    return TrainerComponent(id="t", task="sft", dataset={"type": "dataset", "path": "x"}, **fields)


def test_bf16_on_a_gpu_without_bf16_is_refused() -> None:
    with pytest.raises(JobFailed, match="bf16: this GPU has no bfloat16 support"):
        preflight(_cfg(bf16=True), trainer_args.Hardware(cuda=True, bf16_supported=False))
    preflight(_cfg(bf16=True), trainer_args.Hardware(cuda=False, bf16_supported=True))
    preflight(_cfg(fp16=True), trainer_args.Hardware(cuda=False, bf16_supported=True))


def test_more_gpus_than_the_machine_has_are_refused() -> None:
    cpu = trainer_args.Hardware(cuda=False, bf16_supported=True)
    one_gpu = trainer_args.Hardware(cuda=True, bf16_supported=True, gpu_count=1)
    with pytest.raises(JobFailed, match=r"resources.gpus: asks for 1 GPU; this machine has none .*processes: N"):
        preflight(_cfg(resources={"gpus": 1}), cpu)
    with pytest.raises(JobFailed, match=r"resources.gpus: asks for 2 GPUs; this machine has 1 visible"):
        preflight(_cfg(resources={"gpus": 2}), one_gpu)
    preflight(_cfg(resources={"gpus": 1}), one_gpu)
    preflight(_cfg(resources={"processes": 2}), cpu)


def test_cuda_only_optimizer_names_alternatives() -> None:
    with pytest.raises(JobFailed, match="optimizer: galore_adamw_8bit needs a CUDA GPU.*use galore_adamw"):
        preflight(_cfg(optimizer="galore_adamw_8bit"), trainer_args.Hardware(cuda=False, bf16_supported=True))
    preflight(_cfg(optimizer="galore_adamw_8bit"), trainer_args.Hardware(cuda=True, bf16_supported=True))


@pytest.mark.slow
def test_invalid_config_is_a_plain_failure(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(4), text_column="text")
    spec.config["learning_rate"] = "fast"
    with pytest.raises(JobFailed, match="invalid model-trainer config: learning_rate"):
        run_trainer(spec)


@pytest.mark.slow
def test_missing_text_column_lists_the_columns(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.prompt_response_rows(4), text_column="body")
    with pytest.raises(
        JobFailed,
        match=r"text_column: column 'body' is not in the training data set "
        r"\(its columns: prompt, response\)",
    ):
        run_trainer(spec)


def test_chat_template_that_is_neither_jinja_nor_a_file(tmp_path: Path) -> None:
    with pytest.raises(JobFailed, match="chat_template: 'chatml' is neither a Jinja template nor a file"):
        model_lib.read_chat_template("chatml", lambda p: tmp_path / p)


def test_dataset_must_be_a_datasets_job_output(tmp_path: Path) -> None:
    from runner.finetune.data import load_dataset_value

    with pytest.raises(JobFailed, match=r"dataset: no data set given; bind it to a datasets job's output"):
        load_dataset_value(None, str(tmp_path), "dataset")
    with pytest.raises(JobFailed, match=r"eval_dataset: expected a data set .* got '\./data/train\.json'"):
        load_dataset_value("./data/train.json", str(tmp_path), "eval_dataset")


def test_a_data_set_with_no_rows_is_refused_before_training(tmp_path: Path) -> None:
    from datasets import Dataset, Features, Value

    from runner.finetune.data import load_dataset_value

    folder = tmp_path / "datasets" / "empty"
    Dataset.from_dict({"text": []}, features=Features({"text": Value("string")})).save_to_disk(str(folder))
    ref = {"type": "dataset", "fingerprint": "empty", "path": "datasets/empty"}
    with pytest.raises(JobFailed, match=r"dataset: the data set empty has no rows \(did a filter drop them all"):
        load_dataset_value(ref, str(tmp_path), "dataset")


def test_base_model_falls_back_to_the_default_for_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    from compose.schema.components import TrainerComponent
    from runner.finetune.job import base_model_name

    monkeypatch.delenv("COMPOSE_DEFAULT_SFT_MODEL", raising=False)
    monkeypatch.setenv("COMPOSE_DEFAULT_CLASSIFICATION_MODEL", "/models/classifier")
    assert base_model_name(TrainerComponent(id="t", task="sft", model="./base")) == "./base"
    assert base_model_name(TrainerComponent(id="t", task="classification")) == "/models/classifier"
    with pytest.raises(JobFailed, match="model: no base model: set model: .* or COMPOSE_DEFAULT_SFT_MODEL"):
        base_model_name(TrainerComponent(id="t", task="sft"))
