"""The compare page: overlaid curves, final values, the fields of the resolved configs that
differ; who may see it, and what it answers to a hostile address."""

from __future__ import annotations

import doctest
import json
import re

import pytest
from django.urls import reverse

from compose import events as ev
from tests.web.factories import make_run
from training.actions import claim_run, finish_run, record_event
from training.models import Membership, Workspace
from training.views.compare import MISSING, CompareRefused, DiffRow, config_diff, parse_run_ids

TRAIN_CONFIG = {
    "type": "model-trainer",
    "task": "sft",
    "learning_rate": 5e-5,
    "num_epochs": 3,
    "lora": {"r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"]},
    "seed": 42,
}


# --- the diff, without a database ---------------------------------------------------------


def test_diff_lists_only_the_fields_that_differ():
    a = {"train": dict(TRAIN_CONFIG)}
    b = {"train": {**TRAIN_CONFIG, "learning_rate": 1e-4}}
    assert config_diff([a, b]) == [DiffRow(("train", "learning_rate"), (5e-5, 1e-4))]


def test_diff_walks_into_nested_values_and_compares_lists_whole():
    a = dict(TRAIN_CONFIG)
    b = {**TRAIN_CONFIG, "lora": {"r": 16, "alpha": 16, "target_modules": ["q_proj", "k_proj", "v_proj"]}}
    assert config_diff([a, b]) == [
        DiffRow(("lora", "r"), (8, 16)),
        DiffRow(("lora", "target_modules"), (["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj"])),
    ]


def test_diff_names_a_field_only_some_runs_have():
    a = dict(TRAIN_CONFIG)
    b = {k: v for k, v in TRAIN_CONFIG.items() if k != "seed"}
    c = {**TRAIN_CONFIG, "warmup_ratio": 0.1}
    assert config_diff([a, b, c]) == [
        DiffRow(("seed",), (42, MISSING, 42)),
        DiffRow(("warmup_ratio",), (MISSING, MISSING, 0.1)),
    ]


def test_diff_of_a_job_one_run_lacks_lists_its_fields():
    assert config_diff([{"load": {"path": "a"}, "train": {"lr": 1}}, {"load": {"path": "a"}}]) == [
        DiffRow(("train", "lr"), (1, MISSING))
    ]


def test_diff_of_a_section_against_a_plain_value_is_one_row():
    assert config_diff([{"quantization": {"bits": 4}}, {"quantization": None}]) == [
        DiffRow(("quantization",), ({"bits": 4}, None))
    ]


def test_equal_runs_have_no_differences():
    assert config_diff([dict(TRAIN_CONFIG), dict(TRAIN_CONFIG), dict(TRAIN_CONFIG)]) == []
    assert config_diff([{}, {}]) == []


def test_diff_tells_true_from_one_and_one_from_one_point_oh():
    assert config_diff([{"a": True, "b": 1}, {"a": 1, "b": 1.0}]) == [
        DiffRow(("a",), (True, 1)),
        DiffRow(("b",), (1, 1.0)),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Choose 2 to 6 runs to compare; none given."),
        ("7", "Choose 2 to 6 runs to compare; 1 given."),
        ("7,,", "Choose 2 to 6 runs to compare; 1 given."),
        ("7,x", "'x' is not a run number."),
        ("7,-3", "'-3' is not a run number."),
        ("7,3.0", "'3.0' is not a run number."),
        ("7,²", "'²' is not a run number."),
        ("7,99999999999999999999", "'99999999999999999999' is not a run number."),
        ("7," + "9" * 200, "'" + "9" * 20 + "…' is not a run number."),
        ("7,7", "Run #7 is listed twice."),
        ("1,2,3,4,5,6,7", "7 runs were given; compare 6 at most."),
    ],
)
def test_run_ids_refused_with_a_message(text, message):
    with pytest.raises(CompareRefused) as refused:
        parse_run_ids(text)
    assert str(refused.value) == message


def test_the_examples_in_the_docstrings_hold():
    from training.views import compare

    assert doctest.testmod(compare).failed == 0


def test_run_ids_keep_their_order():
    assert parse_run_ids("14, 12 ,3") == [14, 12, 3]


# --- the page --------------------------------------------------------------------------------


def _trained_run(workspace, user, *, lr: float, losses: list[float], inputs: dict, accuracy: float | None = None):
    run = make_run(workspace, user, workflow_id="train-custom", inputs=inputs)
    claim_run(run.pk, "worker-1")
    record_event(run, ev.status("train", "running"))
    record_event(run, ev.config("train", {**TRAIN_CONFIG, "learning_rate": lr}))
    for i, loss in enumerate(losses, 1):
        record_event(run, ev.metric("train", i * 10, {"loss": loss, "learning_rate": lr}))
    if accuracy is not None:
        record_event(run, ev.metric("train", len(losses) * 10, {"accuracy": accuracy}, split="eval"))
    record_event(run, ev.status("train", "succeeded"))
    run.refresh_from_db()
    finish_run(run, "succeeded")
    run.refresh_from_db()
    return run


@pytest.fixture
def two_runs(workspace, alice):
    a = _trained_run(workspace, alice, lr=5e-5, losses=[2.0, 1.5, 1.2], inputs={"epochs": 3, "note": "base"})
    b = _trained_run(
        workspace, alice, lr=1e-4, losses=[2.1, 1.4, 1.0, 0.9], inputs={"epochs": 3, "note": "faster"}, accuracy=0.8
    )
    return a, b


def compare_url(workspace, runs: str) -> str:
    return reverse("training:compare", kwargs={"slug": workspace.slug}) + "?runs=" + runs


def page_data(html: str) -> dict:
    found = re.search(r'<script id="compare-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries no chart data"
    return json.loads(found.group(1))


def _between(html: str, start: str, end: str) -> str:
    at = html.index(start) + len(start)
    return html[at : html.index(end, at)]


def diff_fields(html: str) -> list[str]:
    return re.findall(r'<tr data-field="([^"]*)">', html)


def test_comparing_two_runs_overlays_both_and_diffs_exactly_what_differs(alice_client, workspace, two_runs):
    a, b = two_runs
    response = alice_client.get(compare_url(workspace, f"{a.pk},{b.pk}"))
    assert response.status_code == 200
    html = response.content.decode()

    data = page_data(html)
    assert [r["id"] for r in data["runs"]] == [a.pk, b.pk]
    assert [r["label"] for r in data["runs"]] == [f"#{a.pk} train-custom", f"#{b.pk} train-custom"]
    charts = {c["key"]: c for c in data["charts"]}
    assert list(charts) == ["loss|train", "learning_rate|train", "accuracy|eval"]  # the run page's order
    loss = charts["loss|train"]["series"]
    assert [(s["run"], s["job"], s["x"], s["y"]) for s in loss] == [
        (a.pk, "train", [10, 20, 30], [2.0, 1.5, 1.2]),
        (b.pk, "train", [10, 20, 30, 40], [2.1, 1.4, 1.0, 0.9]),
    ]
    assert [s["run"] for s in charts["accuracy|eval"]["series"]] == [b.pk]

    # Inputs: only the note differs; configs: only train's learning rate.
    assert diff_fields(html) == ["note", "learning_rate"]
    assert "<code>base</code>" in html and "<code>faster</code>" in html
    assert "<code>5e-05</code>" in html and "<code>0.0001</code>" in html
    assert "Job <code>train</code>" in html

    # Final values: the last point of each metric, — where a run has none.
    finals = _between(html, '<tr data-metric="loss">', "</tr>")
    assert re.findall(r'<td class="num">([^<]*)</td>', finals) == ["1.2", "0.9"]
    accuracy = _between(html, '<tr data-metric="accuracy">', "</tr>")
    assert '<span class="muted">—</span>' in accuracy and "0.8" in accuracy
    # The headline (last training loss for a; accuracy for b), durations, the share link.
    assert "http://testserver" + compare_url(workspace, f"{a.pk},{b.pk}") in html
    assert f'href="{reverse("training:run", args=[a.pk])}"' in html


def test_equal_configs_say_no_differences(alice_client, workspace, alice):
    a = _trained_run(workspace, alice, lr=5e-5, losses=[1.0], inputs={"n": 1})
    b = _trained_run(workspace, alice, lr=5e-5, losses=[0.5], inputs={"n": 1})
    html = alice_client.get(compare_url(workspace, f"{a.pk},{b.pk}")).content.decode()
    assert diff_fields(html) == []
    assert "No differences: every job started with the same configuration." in html
    assert "The runs were given the same inputs." in html


def test_runs_without_configs_or_metrics_say_so(alice_client, workspace, alice):
    a, b = make_run(workspace, alice), make_run(workspace, alice)  # queued: nothing reported yet
    html = alice_client.get(compare_url(workspace, f"{a.pk},{b.pk}")).content.decode()
    assert "None of these runs reported metrics" in html
    assert 'id="compare-data"' not in html
    assert "Fewer than two of these runs recorded a configuration" in html


def test_the_order_of_the_address_is_the_order_of_the_page(alice_client, workspace, two_runs):
    a, b = two_runs
    data = page_data(alice_client.get(compare_url(workspace, f"{b.pk},{a.pk}")).content.decode())
    assert [r["id"] for r in data["runs"]] == [b.pk, a.pk]
    assert [r["colour"] for r in data["runs"]] == [0, 1]


def test_a_form_without_script_is_sent_to_the_short_address(alice_client, workspace, two_runs):
    a, b = two_runs
    url = reverse("training:compare", kwargs={"slug": workspace.slug})
    response = alice_client.get(url, {"runs": [str(a.pk), str(b.pk)]})
    assert response.status_code == 302
    assert response["Location"] == compare_url(workspace, f"{a.pk},{b.pk}")


def test_long_series_are_thinned_keeping_the_last_point(alice_client, workspace, alice, monkeypatch):
    from training.views import compare

    monkeypatch.setattr(compare, "MAX_POINTS", 4)
    a = _trained_run(workspace, alice, lr=1e-4, losses=[float(i) for i in range(10, 0, -1)], inputs={})
    b = _trained_run(workspace, alice, lr=1e-4, losses=[1.0], inputs={})
    data = page_data(alice_client.get(compare_url(workspace, f"{a.pk},{b.pk}")).content.decode())
    series = next(c for c in data["charts"] if c["key"] == "loss|train")["series"][0]
    assert series["x"] == [10, 40, 70, 100]
    assert series["y"][-1] == 1.0


# --- who may see it ----------------------------------------------------------------------------


def test_an_outsider_gets_404(bob_client, workspace, two_runs):
    a, b = two_runs
    assert bob_client.get(compare_url(workspace, f"{a.pk},{b.pk}")).status_code == 404


def test_anonymous_is_sent_to_log_in(client, workspace, two_runs):
    a, b = two_runs
    response = client.get(compare_url(workspace, f"{a.pk},{b.pk}"))
    assert response.status_code in (302, 404)
    assert b"train-custom" not in response.content


def test_a_run_of_another_workspace_is_404_even_to_its_member(alice_client, workspace, alice, bob, two_runs):
    a, _ = two_runs
    other = Workspace.objects.create(name="Other", slug="other")
    Membership.objects.create(user=alice, workspace=other)
    theirs = make_run(other, bob)
    assert alice_client.get(compare_url(workspace, f"{a.pk},{theirs.pk}")).status_code == 404
    # ...and a run that does not exist reads the same.
    assert alice_client.get(compare_url(workspace, f"{a.pk},{theirs.pk + 1000}")).status_code == 404


@pytest.mark.parametrize(
    "runs",
    ["", "1", "1,x", "1,1", "1,2,3,4,5,6,7", "99999999999999999999,1", "1;2", "%00", "1," + "2" * 5000, "<script>"],
)
def test_hostile_runs_get_a_message_never_a_500(alice_client, workspace, runs):
    response = alice_client.get(reverse("training:compare", kwargs={"slug": workspace.slug}), {"runs": runs})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="compare-problem"' in html
    assert "<script>" not in html.split('id="compare-problem"')[1].split("</div>")[0]


def test_no_runs_at_all_says_how_to_choose_them(alice_client, workspace):
    response = alice_client.get(reverse("training:compare", kwargs={"slug": workspace.slug}))
    assert response.status_code == 200
    assert "Choose 2 to 6 runs to compare" in response.content.decode()


# --- choosing runs in the runs tables -------------------------------------------------------------


def test_workspace_and_document_runs_tables_offer_compare_selected(alice_client, workspace, alice, document):
    runs = [make_run(workspace, alice, document=document) for _ in range(2)]
    action = reverse("training:compare", kwargs={"slug": workspace.slug})
    for url in (reverse("training:workspace", args=[workspace.slug]), reverse("training:document", args=[document.pk])):
        html = alice_client.get(url).content.decode()
        assert f'<form method="get" action="{action}" data-compare-form>' in html
        for run in runs:
            assert f'<input type="checkbox" name="runs" value="{run.pk}" aria-label="Compare run #{run.pk}">' in html
        assert "Compare selected" in html
        assert "js/compare.js" in html


def test_one_run_has_nothing_to_compare_with(alice_client, workspace, alice):
    make_run(workspace, alice)
    html = alice_client.get(reverse("training:workspace", args=[workspace.slug])).content.decode()
    assert 'name="runs"' not in html and "Compare selected" not in html


# --- in a browser ------------------------------------------------------------------------------

BROWSER_SETUP = """
from django.contrib.auth.models import User
from compose import events as ev
from tests.web.factories import make_run
from training.actions import claim_run, record_event
from training.models import Membership, Workspace
user = User.objects.create_user("alice", "alice@example.org", "alice-password")
ws = Workspace.objects.create(name="Lab", slug="lab")
Membership.objects.create(user=user, workspace=ws, role=Membership.Role.OWNER)
for lr in (1e-4, 2e-4, 3e-4):
    run = make_run(ws, user, workflow_id="train", inputs={"lr": lr})
    claim_run(run.pk, "w")
    record_event(run, ev.config("train", {"learning_rate": lr, "seed": 1}))
    for step in range(1, 6):
        record_event(run, ev.metric("train", step, {"loss": 2.0 / step + lr}))
"""
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""


@pytest.mark.browser
@pytest.mark.slow
def test_ticking_runs_opens_their_comparison_with_a_line_per_run(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS, manage, running_stack

    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium: bash scripts/setup.sh --browser")
    with running_stack(tmp_path) as (url, env):
        manage(env, "shell", "-c", BROWSER_SETUP)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(20_000)
                page.add_init_script(CSP_LISTENER)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(url + "/accounts/login/")
                page.fill("#id_username", "alice")
                page.fill("#id_password", "alice-password")
                page.click("button[type=submit]")
                expect(page.locator("h1")).to_have_text("Lab")

                button, boxes = page.locator("[data-compare-button]"), page.locator("input[name=runs]")
                expect(button).to_be_disabled()
                boxes.nth(0).check()
                expect(button).to_be_disabled()
                expect(page.locator("[data-compare-hint]")).to_have_text("1 run ticked: tick at least one more.")
                boxes.nth(2).check()
                expect(button).to_be_enabled()
                button.click()
                page.wait_for_url("**/w/lab/compare/?runs=3,1")

                chart = page.locator("[data-chart='loss|train']")
                expect(chart.locator(".uplot")).to_have_count(1)
                # uPlot's legend: the step, then one entry per run, named as the table's columns.
                expect(chart.locator(".u-legend .u-series")).to_have_count(3)
                expect(chart.locator(".u-legend")).to_contain_text("#3 train")
                expect(chart.locator(".u-legend")).to_contain_text("#1 train")
                assert page.evaluate("window.__csp") == [] and errors == []
            finally:
                browser.close()
