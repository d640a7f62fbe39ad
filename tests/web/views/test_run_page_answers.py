"""A model job's answer shows on the run page: generated text, chat replies, label scores."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compose import events as ev
from tests.web.factories import make_run
from training.actions import claim_run, record_event
from training.views.answers import Answer, answer_of

pytestmark = pytest.mark.django_db


def test_the_answer_of_each_task_is_read_from_its_output():
    assert answer_of("g", {"generated_text": "Hi there"}) == Answer("g", ("Hi there",))
    assert answer_of("g", {"generated_text": ["a", "b"]}).texts == ("a", "b")
    chat = {"message": {"role": "assistant", "content": "Hello!"}}
    assert answer_of("c", chat) == Answer("c", ("Hello!",))
    scored = answer_of("k", {"label": "positive", "score": 0.9, "scores": {"negative": 0.1, "positive": 0.9}})
    assert scored.texts == ("positive",) and scored.scores == (("positive", 0.9), ("negative", 0.1))
    ref = {"type": "dataset", "fingerprint": "f" * 16, "path": "datasets/x", "num_rows": 3, "columns": {}}
    assert answer_of("d", ref) is None and answer_of("t", {"type": "model", "output_dir": "/x"}) is None
    assert answer_of("x", "text") is None


def test_the_run_page_shows_a_model_jobs_answer_and_escapes_it(alice_client, alice, workspace):
    run = make_run(workspace, alice, workflow_id="train-custom")
    claim_run(run.pk, "worker-1")
    record_event(run, ev.status("say", "running"))
    record_event(run, ev.output("say", {"generated_text": "<script>alert(1)</script> Hello"}))
    html = alice_client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert 'data-answer="say"' in html and "&lt;script&gt;alert(1)&lt;/script&gt; Hello" in html
    part = alice_client.get(reverse("training:run_answers", args=[run.pk])).content.decode()
    assert "<h2>Answers</h2>" in part and "Hello" in part


def test_answers_are_404_to_outsiders(bob_client, alice, workspace):
    run = make_run(workspace, alice, workflow_id="train-custom")
    assert bob_client.get(reverse("training:run_answers", args=[run.pk])).status_code == 404
