"""The `compose` command: validate, export, inputs, run (exit codes, stdout/stderr split)."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

import runner.launch
from compose import events
from compose.cli import default_models
from compose.console import EventPrinter
from compose.jobspec import JobCancelled
from runner.cli import main
from tests.compose.seed_blocks import seed_blocks

# The seed chapter's §9.8.3 example, read from the document.
SEED_CUSTOM = next(b.text for b in seed_blocks() if b.section == "9.8.3")

PREPARE = """\
components:
  - id: local-data
    type: datasets
    provider: local
    loader: json
    data_files: ${input.file | ./data/custom_train.json}
    token: ${env.MY_TOKEN}
  - id: data-processor
    type: datasets
    method: map
workflows:
  - id: prepare
    jobs:
      - id: load
        component: local-data
      - id: process
        component: data-processor
        input:
          dataset: ${jobs.load.output}
          template: ${input.template}
        depends_on: [load]
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "data").mkdir()
    rows = [{"user_input": f"question {i}", "assistant_response": f"answer {i}"} for i in range(8)]
    (tmp_path / "data" / "custom_train.json").write_text(json.dumps(rows))
    (tmp_path / "seed.yaml").write_text(SEED_CUSTOM)
    (tmp_path / "prepare.yaml").write_text(PREPARE)
    return tmp_path


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setattr(runner.launch, "SubprocessExecutor", runner.launch.InProcessExecutor)


def test_validate_ok_prints_a_summary(project, capsys):
    assert main(["validate", str(project / "seed.yaml")]) == 0
    assert capsys.readouterr().out == f"ok: {project / 'seed.yaml'} - 3 components, 1 workflow (train-custom: 3 jobs)\n"


def test_validate_reports_every_problem_with_its_line(project, capsys):
    broken = SEED_CUSTOM.replace("learning_rate: 5e-5", "learning_rat: 5e-5").replace(
        "depends_on: [process]", "depends_on: [proces]"
    )
    path = project / "broken.yaml"
    path.write_text(broken)
    assert main(["validate", str(path), str(project / "seed.yaml")]) == 1
    out = capsys.readouterr().out.splitlines()
    rat_line = broken.splitlines().index("    learning_rat: 5e-5") + 1
    assert any(
        line.startswith(f"{path}:{rat_line}:") and "learning_rat" in line and "learning_rate" in line for line in out
    )
    assert any("depends_on" in line and "`proces`" in line and "did you mean `process`" in line for line in out)
    assert f"invalid: {path} - 3 errors" in out  # the unknown id also leaves `process` out
    assert out[-1].startswith(f"ok: {project / 'seed.yaml'}")


def test_validate_warnings_keep_exit_zero(project, capsys):
    path = project / "warn.yaml"
    path.write_text(
        SEED_CUSTOM.replace(
            "    output_dir: ./output/custom-model",
            "    output_dir: ./output/custom-model\n    fp16: true\n    bf16: true",
        )
    )
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "ok: " in out


def test_validate_missing_file(project, capsys):
    assert main(["validate", str(project / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_export_nested_dialect_round_trips(project, capsys):
    assert main(["export", str(project / "seed.yaml"), "--dialect", "nested"]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    trainer = data["components"][2]
    assert trainer["lora"]["rank"] == 8
    (project / "nested.yaml").write_text(text)
    assert main(["export", str(project / "nested.yaml"), "--dialect", "seed"]) == 0
    seed_again = yaml.safe_load(capsys.readouterr().out)
    assert seed_again["components"][2]["lora_r"] == 8


def test_inputs_prints_the_schema_as_json(project, capsys):
    assert main(["inputs", str(project / "seed.yaml")]) == 0
    (spec,) = json.loads(capsys.readouterr().out)
    assert (spec["name"], spec["type"], spec["required"]) == ("template", "text", True)
    assert main(["inputs", str(project / "seed.yaml"), "train-custm"]) == 1
    assert "did you mean `train-custom`" in capsys.readouterr().err


def test_run_prints_output_json_on_stdout_and_progress_on_stderr(project, capsys, in_process):
    code = main(
        [
            "run",
            str(project / "prepare.yaml"),
            "--input",
            "template=Q: {user_input} A: {assistant_response}",
            "-e",
            "MY_TOKEN=tok-12345",
            "--storage",
            str(project / "store"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert output["type"] == "dataset" and output["num_rows"] == 8
    assert output["preview"][0]["text"] == "Q: question 0 A: answer 0"
    assert (project / "store" / output["path"]).is_dir()
    assert "[load] succeeded" in captured.err and "[process] succeeded" in captured.err
    assert "tok-12345" not in captured.err + captured.out


def test_run_inputs_from_json_and_default_storage(project, capsys, in_process, monkeypatch):
    monkeypatch.delenv("COMPOSE_STORAGE_DIR", raising=False)
    code = main(["run", str(project / "prepare.yaml"), "prepare", "-i", json.dumps({"template": "{user_input}"})])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["preview"][1]["text"] == "question 1"
    assert (project / ".compose" / "storage" / "datasets").is_dir()


def test_run_missing_input_fails_before_running(project, capsys, in_process):
    assert main(["run", str(project / "prepare.yaml")]) == 1
    captured = capsys.readouterr()
    assert "input `template` is required" in captured.err
    assert captured.out == "" and "running" not in captured.err


def test_run_failing_job_exits_1_with_a_plain_message(project, capsys, in_process):
    code = main(
        [
            "run",
            str(project / "prepare.yaml"),
            "--input",
            "template={user_input}",
            "--input",
            "file=./data/missing.json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "job `load` failed" in captured.err and "missing.json" in captured.err
    assert captured.out == ""


def test_run_escaping_path_is_refused(project, capsys, in_process):
    code = main(["run", str(project / "prepare.yaml"), "--input", "template=x", "--input", "file=../../etc/passwd"])
    assert code == 1
    assert "leaves the folder" in capsys.readouterr().err


def test_run_trainer_without_model_is_refused(project, capsys, in_process, monkeypatch):
    monkeypatch.delenv("COMPOSE_DEFAULT_SFT_MODEL", raising=False)
    assert main(["run", str(project / "seed.yaml"), "--input", "template=x"]) == 1
    err = capsys.readouterr().err
    assert "components[2].model" in err and "no base model" in err


def test_run_says_that_worker_labels_choose_a_server_worker_not_this_machine(tmp_path, capsys, in_process):
    path = tmp_path / "labels.yaml"
    path.write_text(
        "components:\n"
        "  - {id: t, type: model-trainer, task: sft, resources: {labels: [a100]}}\n"
        "workflows:\n"
        "  - {id: w, jobs: [{id: train, component: t}]}\n"
    )
    main(["run", str(path)])
    assert "resources.labels (a100) choose a server's worker; this run starts here" in capsys.readouterr().err


def test_env_file_values_reach_the_job_as_secrets(project, capsys, monkeypatch):
    specs = []

    class Recording(runner.launch.InProcessExecutor):
        def execute(self, spec, on_event, cancel):
            specs.append(spec)
            on_event(events.log(spec.job_id, f"using token {spec.config.get('token')}"))
            return super().execute(spec, on_event, cancel)

    monkeypatch.setattr(runner.launch, "SubprocessExecutor", Recording)
    (project / ".env").write_text("# secrets\nexport MY_TOKEN='tok-abcdef'\n")
    code = main(
        ["run", str(project / "prepare.yaml"), "--env-file", str(project / ".env"), "--input", "template={user_input}"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    load = specs[0]
    assert load.config["token"] == "tok-abcdef" and "tok-abcdef" in load.secrets
    assert "[load] using token ***" in captured.err
    assert "tok-abcdef" not in captured.err + captured.out


class BlockingExecutor:
    started = threading.Event()

    def execute(self, spec, on_event, cancel):
        BlockingExecutor.started.set()
        on_event(events.status(spec.job_id, "running"))
        if cancel.wait(10):
            on_event(events.status(spec.job_id, "cancelled", "stopped"))
            raise JobCancelled("stopped")
        return {}


def test_ctrl_c_cancels_and_exits_130(project, capsys, monkeypatch):
    monkeypatch.setattr(runner.launch, "SubprocessExecutor", BlockingExecutor)
    BlockingExecutor.started.clear()
    timer = threading.Thread(
        target=lambda: BlockingExecutor.started.wait(5) and os.kill(os.getpid(), signal.SIGINT), daemon=True
    )
    timer.start()
    begin = time.monotonic()
    code = main(["run", str(project / "prepare.yaml"), "--input", "template=x"])
    assert code == 130
    assert time.monotonic() - begin < 5
    err = capsys.readouterr().err
    assert "cancelling" in err and "[load] cancelled: stopped" in err
    assert "the run was cancelled" in err


def test_model_defaults_from_environment_and_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    env = {"COMPOSE_DEFAULT_SFT_MODEL": "org/sft-base", "COMPOSE_DEFAULT_CLASSIFICATION_MODEL": "./tiny"}
    assert default_models([], env) == {"sft": "org/sft-base", "classification": str(tmp_path / "tiny")}
    assert default_models(["sft=tiny"], env)["sft"] == str(tmp_path / "tiny")
    assert main(["run", "x.yaml", "--model-default", "llm=x"]) == 1


def test_event_printer_plain_and_terminal():
    plain = io.StringIO()
    printer = EventPrinter(plain, secrets=["s3cret"], tty=False)
    printer(events.log("train", "token is s3cret"))
    printer(events.metric("train", 10, {"loss": 1.23456, "learning_rate": 5e-05}, epoch=0.5))
    printer(events.progress("train", 10, 10, unit="steps", stage="train"))
    printer(events.artifact("train", "checkpoint", "/out/checkpoint-10", size_bytes=2048))
    assert plain.getvalue().splitlines() == [
        "[train] token is ***",
        "[train] step 10 epoch 0.50 loss=1.235 learning_rate=5e-05",
        "[train] train 10/10 steps",
        "[train] checkpoint: /out/checkpoint-10 (2.0 KB)",
    ]
    tty = io.StringIO()
    bar = EventPrinter(tty, tty=True)
    bar(events.progress("load", 5, 10, unit="rows", stage="map", eta_s=3))
    bar(events.log("load", "hello"))
    assert "[############------------] 5/10 rows eta 3 s" in tty.getvalue()
    assert tty.getvalue().endswith("\r\x1b[2K[load] hello\n")


def test_manage_py_compose_passes_arguments(project):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("compose", "validate", str(project / "seed.yaml"))
    with pytest.raises(CommandError):
        call_command("compose", "validate", str(project / "nope.yaml"))


@pytest.mark.slow
def test_console_script_validate(project):
    script = Path(sys.executable).parent / "compose"
    result = subprocess.run(
        [str(script), "validate", str(project / "seed.yaml")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")


@pytest.mark.slow
def test_seed_custom_example_trains_end_to_end(project, capsys, in_process):
    from tests.fixtures.tiny_models import build_tiny_causal_lm

    build_tiny_causal_lm(project / "models" / "tiny")
    code = main(
        [
            "run",
            str(project / "seed.yaml"),
            "--input",
            "template=Q: {user_input}",
            "--model-default",
            f"sft={project / 'models' / 'tiny'}",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    output = json.loads(captured.out)
    assert output["type"] == "model" and output["global_step"] >= 1
    assert Path(output["output_dir"]) == (project / "output" / "custom-model").resolve()
    assert "[train] succeeded" in captured.err


@pytest.mark.slow
def test_console_script_run_starts_runner_processes(project):
    """`compose run` through the real SubprocessExecutor: one `python -m runner` per job."""
    (project / "load.yaml").write_text(
        "components:\n"
        "  - id: local-data\n    type: datasets\n    provider: local\n    loader: json\n"
        "    data_files: ./data/custom_train.json\n    token: ${env.MY_TOKEN}\n"
        "workflows:\n  - id: load\n    jobs:\n      - id: load\n        component: local-data\n"
    )
    script = Path(sys.executable).parent / "compose"
    env = {**os.environ, "MY_TOKEN": "tok-zyxw", "COMPOSE_STORAGE_DIR": str(project / "shared-storage")}
    result = subprocess.run(
        [str(script), "run", str(project / "load.yaml")],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["num_rows"] == 8
    assert (project / "shared-storage" / output["path"]).is_dir()
    assert "[load] succeeded" in result.stderr
    assert "tok-zyxw" not in result.stderr + result.stdout
