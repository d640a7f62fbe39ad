"""Display helpers and the schema-built field lists the pages rely on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compose.schema.components import DatasetsComponent, ModelComponent, ResourceSpec, TrainerComponent
from compose.schema.workflow import Job
from training.forms.schema_fields import component_groups, group_methods
from training.templatetags.compose_ui import format_number, human_duration, relative_time
from training.views.graph import layout


@pytest.mark.parametrize(
    "value, text",
    [
        (0.00012, "1.2e-4"),
        (5e-05, "5e-5"),
        (12345, "12.3k"),
        (2_500_000, "2.5M"),
        (0.5, "0.5"),
        (3, "3"),
        (1.23456, "1.235"),
        (0, "0"),
        (None, "—"),
        ("n/a", "n/a"),
    ],
)
def test_numbers_are_short_and_readable(value, text):
    assert format_number(value) == text


def test_durations_and_relative_times():
    assert [human_duration(s) for s in (None, 5, 75, 3600, 3 * 86400)] == ["—", "5 s", "1 min 15 s", "1 h", "3 d 0 h"]
    now = timezone.now()
    assert relative_time(now - timedelta(seconds=10), now) == "just now"
    assert relative_time(now - timedelta(minutes=3), now) == "3 min ago"
    assert relative_time(now - timedelta(days=2), now) == "2 d ago"


def test_every_schema_field_sits_in_a_named_group_with_its_help():
    trainer = [f for g in component_groups("model-trainer") for f in g.fields]
    assert "Other" not in [g.title for g in component_groups("model-trainer")]
    expected = (set(TrainerComponent.model_fields) - {"id", "type", "resources"}) | {
        f"resources.{name}" for name in ResourceSpec.model_fields
    }
    assert {f.name for f in trainer} == expected and len(trainer) == len(expected)
    for ctype, model in (("datasets", DatasetsComponent), ("model", ModelComponent)):
        fields = [f for g in component_groups(ctype) for f in g.fields]
        assert {f.name for f in fields} == set(model.model_fields) - {"id", "type"}
        assert "Other" not in [g.title for g in component_groups(ctype)]
        trainer += fields
    assert [f.name for f in trainer if not f.help] == []


def test_a_datasets_section_belongs_to_the_operations_that_read_it():
    methods = group_methods("datasets")
    assert methods["Load from files"] == ("load",) and methods["Filter"] == ("filter",)
    assert methods["Input"] == ("select", "filter", "map")
    assert group_methods("model-trainer") == {}


def test_graph_places_jobs_after_their_dependencies_and_survives_cycles():
    jobs = [
        Job(id="a", component="c"),
        Job(id="b", component="c", depends_on=["a"]),
        Job(id="c", component="c", depends_on=["a", "b"]),
    ]
    g = layout(jobs)
    x = {n.id: n.x for n in g.nodes}
    assert x["a"] < x["b"] < x["c"] and {(e.source, e.target) for e in g.edges} == {("a", "b"), ("a", "c"), ("b", "c")}
    loop = layout([Job(id="a", component="c", depends_on=["b"]), Job(id="b", component="c", depends_on=["a"])])
    assert len(loop.nodes) == 2 and len(loop.edges) == 2


def test_a_field_added_to_the_schema_reaches_the_editor_with_its_help_and_unit():

    from pydantic import create_model

    from compose.schema.components import _field
    from training.forms.schema_fields import model_field_specs

    widened = create_model(
        "Widened",
        __base__=TrainerComponent,
        warmup_ratio=(
            float | None,
            _field(help="Share of the steps spent warming up.", group="Scheduler", unit="of the steps", ge=0, le=1),
        ),
    )
    spec = model_field_specs(widened)["warmup_ratio"]
    assert (spec.kind, spec.help, spec.group, spec.unit, spec.bounds) == (
        "number",
        "Share of the steps spent warming up.",
        "Scheduler",
        "of the steps",
        "≥ 0, ≤ 1",
    )
