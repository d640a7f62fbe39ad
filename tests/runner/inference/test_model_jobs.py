"""``type: model`` jobs: one input, every row of a data set, adapters and their weights,
classification, and what they refuse."""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path

import pytest

from compose.engine import run_workflow
from compose.jobspec import JobFailed
from compose.loader import load_compose, parse
from runner.launch import InProcessExecutor
from tests.fixtures import data
from tests.fixtures.training import run_trainer, save_dataset, trainer_spec
from tests.runner.inference.conftest import run_model

PROMPT = "Question: What is two plus two? Answer:"


@pytest.fixture(scope="module")
def trained_adapter(tiny_causal_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter trained hard enough that greedy answers change."""
    tmp = tmp_path_factory.mktemp("adapter")
    spec = trainer_spec(
        tmp,
        tiny_causal_lm_dir,
        data.text_rows(16),
        peft_adapter="lora",
        lora_r=8,
        lora_alpha=32,
        learning_rate=5e-2,
        max_steps=20,
        per_device_train_batch_size=8,
        save_steps=None,
        logging_steps=5,
        seed=1,
    )
    output, _ = run_trainer(spec)
    return Path(output["output_dir"])


def test_one_prompt_gives_one_generated_text(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    output, seen = run_model(
        tmp_path, task="text-generation", model=str(tiny_causal_lm_dir), prompt=PROMPT, max_output_length=6
    )
    assert set(output) == {"generated_text"} and isinstance(output["generated_text"], str)
    assert [e["status"] for e in seen if e["type"] == "status"] == ["running", "succeeded"]


def test_chat_messages_go_through_the_chat_template(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    output, _ = run_model(
        tmp_path,
        task="chat-completion",
        model=str(tiny_causal_lm_dir),
        messages=[{"role": "user", "content": "hello"}],
        max_output_length=4,
        num_return_sequences=2,
        num_beams=2,
    )
    assert [m["role"] for m in output["message"]] == ["assistant", "assistant"]


def test_weight_0_generates_what_the_base_model_does_and_weight_1_what_the_trained_model_does(
    tmp_path: Path, tiny_causal_lm_dir: Path, trained_adapter: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def answer(**fields):
        return run_model(
            tmp_path,
            task="text-generation",
            model=str(tiny_causal_lm_dir),
            prompt=PROMPT,
            max_output_length=8,
            **fields,
        )[0]["generated_text"]

    base = answer()
    tokenizer = AutoTokenizer.from_pretrained(trained_adapter)
    trained_model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir), trained_adapter
    ).eval()
    inputs = tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        ids = trained_model.generate(**inputs, max_new_tokens=8, do_sample=False)
    trained = tokenizer.decode(ids[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert trained != base, "the adapter did not change the greedy answer; the test proves nothing"

    assert answer(peft_adapters=[{"model": str(trained_adapter), "weight": 0}]) == base
    assert answer(peft_adapters=[{"model": str(trained_adapter), "weight": 1}]) == trained
    half = answer(
        peft_adapters=[
            {"name": "a", "model": str(trained_adapter), "weight": 0.5},
            {"name": "b", "model": {"provider": "local", "path": str(trained_adapter)}, "weight": 0.5},
        ]
    )
    assert half == trained  # two halves of the same adapter add up to all of it


def test_a_workflow_trains_then_answers_every_row_of_a_held_out_set(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data.text_rows(16)))
    held_out = [
        {"question": q}
        for q in (
            "What is two plus two?",
            "Name the capital of France.",
            "What colour is the sky?",
            "Say hello in Korean.",
            "Who are you?",
        )
    ]
    (tmp_path / "data" / "held_out.jsonl").write_text("".join(json.dumps(r) + "\n" for r in held_out))
    doc = load_compose(
        textwrap.dedent(f"""\
        components:
          - id: train-data
            type: datasets
            provider: local
            loader: json
            data_files: ./data/train.jsonl
          - id: held-out
            type: datasets
            provider: local
            loader: json
            data_files: ./data/held_out.jsonl
          - id: trainer
            type: model-trainer
            task: sft
            model: {tiny_causal_lm_dir}
            dataset: ${{jobs.train-data.output}}
            peft_adapter: lora
            max_steps: 2
            per_device_train_batch_size: 8
            output_dir: ./adapter
          - id: answer
            type: model
            task: text-generation
            model: {tiny_causal_lm_dir}
            peft_adapters:
              - type: lora
                name: trained
                model: ${{jobs.train.output.output_dir}}
                weight: 1.0
            action:
              dataset: ${{jobs.held.output}}
              prompt: "Question: {{question}} Answer:"
              batch_size: 2
              params:
                max_output_length: 4
        workflows:
          - id: train-then-answer
            jobs:
              - {{id: train-data, component: train-data}}
              - {{id: held, component: held-out}}
              - {{id: train, component: trainer, depends_on: [train-data]}}
              - {{id: answer, component: answer, depends_on: [held, train]}}
        """)
    )
    seen: list[dict] = []
    output = run_workflow(
        doc,
        None,
        {},
        executor=InProcessExecutor(),
        base_dir=tmp_path,
        storage_dir=tmp_path / "storage",
        env={},
        run_id="r",
        on_event=seen.append,
        cancel=threading.Event(),
        allow_absolute_paths=True,
    )
    assert output["type"] == "dataset" and output["num_rows"] == len(held_out)
    from datasets import load_from_disk

    rows = load_from_disk(str(tmp_path / "storage" / output["path"])).to_list()
    assert [r["question"] for r in rows] == [r["question"] for r in held_out]
    assert all(isinstance(r["response"], str) for r in rows)
    progress = [e for e in seen if e["type"] == "progress" and e["job"] == "answer"]
    assert [e["current"] for e in progress] == [2, 4, 5] and progress[-1]["total"] == 5
    adapter = next(e for e in seen if e["type"] == "config" and e["job"] == "answer")
    assert adapter["values"]["peft_adapters"][0]["model"] == str((tmp_path / "adapter").resolve())


def test_classification_gives_probabilities_that_sum_to_1_and_the_trained_label(
    tmp_path: Path, tiny_classifier_dir: Path
) -> None:
    spec = trainer_spec(
        tmp_path,
        tiny_classifier_dir,
        data.classification_rows(16),
        task="classification",
        learning_rate=1e-3,
        num_epochs=15,
        per_device_train_batch_size=8,
        save_steps=None,
        seed=3,
    )
    trained, _ = run_trainer(spec)
    rows = data.classification_rows(4)
    for row in rows:
        output, _ = run_model(tmp_path, task="text-classification", model=trained["output_dir"], text=row["text"])
        assert set(output["scores"]) == {"negative", "positive"}
        assert sum(output["scores"].values()) == pytest.approx(1.0, abs=1e-5)
        assert output["label"] == row["label"] and output["score"] == max(output["scores"].values())
    ref = save_dataset(tmp_path / "storage", [{"text": r["text"]} for r in rows])
    over_rows, _ = run_model(
        tmp_path, task="text-classification", model=trained["output_dir"], text="{text}", dataset=ref
    )
    assert over_rows["num_rows"] == len(rows)
    assert [r["predicted_label"] for r in over_rows["preview"]] == [r["label"] for r in rows]


def test_a_task_model_compose_has_but_compose_web_does_not_run_is_refused_by_name(tmp_path: Path) -> None:
    result = parse("components:\n  - {id: caption, type: model, task: image-to-text, model: ./m}\n")
    assert [(p.path, p.line, p.message.split(" (")[0]) for p in result.errors] == [
        ("components[0].task", 2, "task image-to-text is not supported here")
    ]
    with pytest.raises(JobFailed, match="task image-to-text is not supported here"):
        from runner.inference.job import parse_config

        parse_config({"id": "c", "type": "model", "task": "image-to-text", "model": "./m"})


def test_a_gpu_device_or_quantization_on_a_cpu_machine_is_refused(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(JobFailed, match="device cuda:1: this machine has no CUDA GPU"):
        run_model(tmp_path, task="text-generation", model=str(tiny_causal_lm_dir), prompt="x", device="cuda:1")
    with pytest.raises(JobFailed, match="quantization: nf4 needs a CUDA GPU"):
        run_model(tmp_path, task="text-generation", model=str(tiny_causal_lm_dir), prompt="x", quantization="nf4")


def test_an_answer_column_already_in_the_data_set_is_refused(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    ref = save_dataset(tmp_path / "storage", [{"q": "a", "response": "old"}])
    with pytest.raises(JobFailed, match="already has a column response"):
        run_model(tmp_path, task="text-generation", model=str(tiny_causal_lm_dir), prompt="{q}", dataset=ref)


def test_a_classifier_adapter_brings_its_labels_and_head(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    spec = trainer_spec(
        tmp_path,
        tiny_classifier_dir,
        data.classification_rows(16),
        task="classification",
        peft_adapter="lora",
        lora_r=8,
        learning_rate=1e-2,
        num_epochs=15,
        per_device_train_batch_size=8,
        save_steps=None,
        seed=3,
    )
    trained, _ = run_trainer(spec)
    assert trained["adapter"] is True
    for row in data.classification_rows(4):
        output, _ = run_model(
            tmp_path,
            task="text-classification",
            model=str(tiny_classifier_dir),
            text=row["text"],
            peft_adapters=[{"model": trained["output_dir"]}],
        )
        assert set(output["scores"]) == {"negative", "positive"} and output["label"] == row["label"]


def test_chat_messages_are_templates_over_each_row(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    ref = save_dataset(tmp_path / "storage", [{"q": "two plus two"}, {"q": "the sky"}])
    output, _ = run_model(
        tmp_path,
        task="chat-completion",
        model=str(tiny_causal_lm_dir),
        dataset=ref,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{q}?"}],
        max_output_length=3,
    )
    assert output["num_rows"] == 2 and all(isinstance(r["response"], str) for r in output["preview"])
    with pytest.raises(JobFailed, match="messages: .*question"):
        run_model(
            tmp_path,
            task="chat-completion",
            model=str(tiny_causal_lm_dir),
            dataset=ref,
            messages=[{"role": "user", "content": "{question}"}],
        )
