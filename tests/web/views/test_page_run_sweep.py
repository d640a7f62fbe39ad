"""Sweeps from the run form: several values of some inputs queue every combination, or nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from training.actions import create_document
from training.models import Run, Sweep

pytestmark = pytest.mark.django_db

SWEEPABLE = """\
components:
  - id: trainer
    type: model-trainer
    task: sft
    model: ./models/tiny
    peft_adapter: lora
    dataset: ${input.data as json | []}
    learning_rate: ${input.learning_rate | 5e-5}
    lora_r: ${input.lora_r | 8}
workflows:
  - id: train
    jobs:
      - id: train
        component: trainer
"""


@pytest.fixture
def sweepable(workspace, alice):
    return create_document(workspace, alice, "sweepable", SWEEPABLE)


def url(document):
    return reverse("training:run_new", args=[document.pk, "train"])


def test_the_form_offers_several_values_for_each_input(alice_client, sweepable):
    html = alice_client.get(url(sweepable)).content.decode()
    assert 'name="sweep.learning_rate"' in html and 'name="sweep.lora_r"' in html
    assert "Several values (sweep)" in html and "e.g. [[0, 1], [2, 3]]" in html
    assert 'data-max="32"' in html


def test_a_2x2_sweep_queues_four_runs_with_the_right_inputs(alice_client, alice, sweepable):
    response = alice_client.post(
        url(sweepable), {"learning_rate": "3e-4", "sweep.learning_rate": "1e-4, 5e-5", "sweep.lora_r": "8, 16"}
    )
    sweep = Sweep.objects.get()
    runs = list(Run.objects.order_by("pk"))
    assert [run.inputs for run in runs] == [
        {"learning_rate": 1e-4, "lora_r": 8},
        {"learning_rate": 1e-4, "lora_r": 16},
        {"learning_rate": 5e-5, "lora_r": 8},
        {"learning_rate": 5e-5, "lora_r": 16},
    ]
    assert all(run.sweep == sweep and run.status == "queued" and run.created_by == alice for run in runs)
    assert sweep.values == {"learning_rate": [1e-4, 5e-5], "lora_r": [8, 16]} and sweep.workflow_id == "train"
    ids = ",".join(str(run.pk) for run in runs)
    assert response.status_code == 302
    assert response["Location"] == reverse("training:compare", args=["lab"]) + f"?runs={ids}"


def test_the_run_page_says_which_sweep_the_run_is_part_of(alice_client, sweepable):
    alice_client.post(url(sweepable), {"sweep.lora_r": "8, 16, 32"})
    runs = list(Run.objects.order_by("pk"))
    html = alice_client.get(reverse("training:run", args=[runs[1].pk])).content.decode()
    sweep = Sweep.objects.get()
    assert f"part of sweep #{sweep.pk} (3 runs, <code>lora_r</code>)" in html
    ids = ",".join(str(run.pk) for run in runs)
    assert f'href="{reverse("training:compare", args=["lab"])}?runs={ids}">compare</a>' in html
    alice_client.post(url(sweepable), {"lora_r": "4"})
    single = Run.objects.get(sweep=None)
    assert "part of sweep" not in alice_client.get(reverse("training:run", args=[single.pk])).content.decode()


def test_a_bad_value_is_refused_beside_its_input_and_nothing_is_queued(alice_client, sweepable):
    response = alice_client.post(url(sweepable), {"sweep.learning_rate": "1e-4, fast", "sweep.lora_r": "8, 16"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "'fast' is not a number" in errors["learning_rate"][0] and "lora_r" not in errors
    assert 'value="1e-4, fast"' in response.content.decode()  # the text is kept to correct
    assert not Run.objects.exists() and not Sweep.objects.exists()


def test_over_the_cap_is_refused_with_the_count(alice_client, sweepable, settings):
    response = alice_client.post(
        url(sweepable), {"sweep.learning_rate": "1,2,3,4,5,6", "sweep.lora_r": "1,2,3,4,5,6,7,8"}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["learning_rate"] == ["this sweep makes 48 runs; the most is 32"] == errors["lora_r"]
    settings.COMPOSE_SWEEP_MAX_RUNS = 4
    response = alice_client.post(url(sweepable), {"sweep.learning_rate": "1,2,3", "sweep.lora_r": "8, 16"})
    assert response.context["form"].errors["lora_r"] == ["this sweep makes 6 runs; the most is 4"]
    assert not Run.objects.exists() and not Sweep.objects.exists()


def test_one_refused_run_refuses_the_whole_sweep(alice_client, workspace, sweepable, monkeypatch):
    from compose.errors import Problem
    from training.actions import RunRefused, runs

    calls = []

    def refuse_the_third(need, ws):
        calls.append(need)
        if len(calls) == 3:
            raise RunRefused([Problem("resources", "no worker could ever hold this run")])

    monkeypatch.setattr(runs, "check_placeable", refuse_the_third)
    response = alice_client.post(url(sweepable), {"sweep.lora_r": "8, 16, 32, 64"})
    assert response.status_code == 400 and "no worker could ever hold this run" in response.content.decode()
    assert not Run.objects.exists() and not Sweep.objects.exists()


def test_a_stranger_cannot_post_a_sweep_to_another_workspace(bob_client, sweepable):
    response = bob_client.post(url(sweepable), {"sweep.lora_r": "8, 16"})
    assert response.status_code == 404 and not Run.objects.exists()


@pytest.mark.parametrize(
    "values",
    [
        {"sweep.lora_r": "," * 20_000},
        {"sweep.lora_r": "8," * 20_000},
        {"sweep.lora_r": "1," * 60_000},
        {"sweep.data": "[" * 30_000 + "]" * 30_000},
        {"sweep.data": '{"a": [1, 2]}'},
        {"sweep.data": "[" + ",".join(["[1]"] * 40) + "]"},
        {"sweep.lora_r": "[[8], [16]]"},
        {"sweep.learning_rate": "[1e400, 1]"},
        {"sweep.learning_rate": "[NaN, 1]"},
        {"sweep.lora_r": "8\x00, 16"},
        {"sweep.learning_rate": "nan, inf, -inf"},
    ],
)
def test_hostile_values_are_refused_without_a_500(alice_client, sweepable, values):
    response = alice_client.post(url(sweepable), values)
    assert response.status_code == 400
    assert not Run.objects.exists() and not Sweep.objects.exists()


def test_a_sweep_larger_than_the_compare_page_opens_its_first_runs(alice_client, sweepable):
    from training.views.compare import MAX_RUNS

    response = alice_client.post(url(sweepable), {"sweep.lora_r": ",".join(str(8 + i) for i in range(MAX_RUNS + 3))})
    ids = list(Run.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == MAX_RUNS + 3
    first = ",".join(map(str, ids[:MAX_RUNS]))
    assert response["Location"] == reverse("training:compare", args=["lab"]) + f"?runs={first}"
    page = alice_client.get(response["Location"])
    assert page.status_code == 200 and f"queued {len(ids)} runs" in page.content.decode()
    last = alice_client.get(reverse("training:run", args=[ids[-1]])).content.decode()
    assert "?runs=" + ",".join(map(str, ids[-MAX_RUNS:])) in last


def test_a_sweep_of_one_value_opens_its_run(alice_client, sweepable):
    response = alice_client.post(url(sweepable), {"sweep.lora_r": "16"})
    run = Run.objects.get()
    assert response["Location"] == reverse("training:run", args=[run.pk]) and run.inputs == {"lora_r": 16}
    html = alice_client.get(response["Location"]).content.decode()
    assert "(1 run, <code>lora_r</code>)</span>" in html
