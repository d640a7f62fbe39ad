"""Secret masking: one rule for log lines, events, stored configs and run files."""

from __future__ import annotations

from compose.jobspec import JobSpec, redact
from runner.context import RunContext


def test_every_secret_is_masked_wherever_it_sits() -> None:
    event = {"message": "token hf_abc123 refused", "values": ["x hf_abc123", 3], "n": 1}
    assert redact(event, ["hf_abc123"]) == {"message": "token *** refused", "values": ["x ***", 3], "n": 1}


def test_a_secret_containing_another_is_masked_whole() -> None:
    assert redact("key=sk-live-0123456789", ["0123", "sk-live-0123456789"]) == "key=***"


def test_values_too_short_to_be_credentials_leave_the_text_readable() -> None:
    # ${env.EPOCHS} = "3" or a flag of "1" would otherwise turn every number into ***.
    line = "step 13 of 30, loss 1.3, lr 3e-05 (hf_s3cr3t)"
    assert redact(line, ["3", "13", "abc", "hf_s3cr3t", ""]) == "step 13 of 30, loss 1.3, lr 3e-05 (***)"


def test_the_runner_logs_by_the_same_rule() -> None:
    seen: list[dict] = []
    spec = JobSpec(
        run_id="r",
        job_id="j",
        component_id="c",
        component_type="model-trainer",
        method="train",
        config={},
        base_dir=".",
        storage_dir=".",
        secrets=["1", "hf_s3cr3t"],
    )
    RunContext(spec=spec, emit=seen.append).log("epoch 1 of 10 with hf_s3cr3t")
    assert seen[-1]["message"] == "epoch 1 of 10 with ***"


def test_a_piece_of_a_secret_cut_out_by_an_expression_is_masked_too():
    key = "Zt5oJk2vQ8n3Xw7bR1mYc4sLd9HfGa6e"
    error = f'ValueError: invalid literal for int() with base 10: "{key[1:]}"'
    assert key[1:] not in redact(error, [key]) and "***" in redact(error, [key])
    # a preview cut at 200 characters keeps only the head of a padded secret
    assert redact("x" * 190 + key[:10], [key]) == "x" * 190 + "***"
    assert redact({"rows": [f"..{key[5:17]}.."]}, [key]) == {"rows": ["..***.."]}


def test_fragments_shorter_than_eight_characters_and_unrelated_text_are_kept():
    key = "Zt5oJk2vQ8n3Xw7bR1mYc4sLd9HfGa6e"
    assert redact(f"id {key[:7]} step 12", [key]) == f"id {key[:7]} step 12"
    assert redact("the loss went down", [key]) == "the loss went down"
