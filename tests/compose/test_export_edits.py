"""The text editor under export: each kind of change rewrites only its own lines."""

from __future__ import annotations

import pytest
import yaml

from compose.exporter import append_item, remove_item, set_field
from compose.yamlio.edit import rewrite

TEXT = """\
# header comment
a:
  b: 1        # keep me
  list:
    - x
    - y       # second
  flow: [ 1, 2 ]
  text: |
    line one
    line two

# between
items:
  - id: one
    v: 1

  - id: two
    v: 2
"""


def edited(**changes):
    data = yaml.safe_load(TEXT)
    for key, value in changes.items():
        data["a"][key] = value
    return data


def test_unchanged_data_gives_the_same_text() -> None:
    assert rewrite(TEXT, yaml.safe_load(TEXT)) == TEXT


def test_scalar_change_keeps_its_comment() -> None:
    out = rewrite(TEXT, edited(b=2))
    assert "  b: 2        # keep me\n" in out
    assert out.replace("b: 2", "b: 1") == TEXT


def test_block_list_item_change_touches_one_line() -> None:
    out = rewrite(TEXT, edited(list=["x", "z"]))
    assert out == TEXT.replace("    - y       # second", "    - z       # second")


def test_flow_list_is_rewritten_in_flow_style() -> None:
    out = rewrite(TEXT, edited(flow=[1, 2, 3]))
    assert "  flow: [1, 2, 3]\n" in out and yaml.safe_load(out)["a"]["flow"] == [1, 2, 3]


def test_literal_block_replaced_keeps_what_follows() -> None:
    out = rewrite(TEXT, edited(text="new\n"))
    assert yaml.safe_load(out) == edited(text="new\n")
    assert "\n# between\nitems:" in out


def test_scalar_becomes_a_block_and_back() -> None:
    data = edited(b={"c": 1, "d": [{"e": 2}]})
    out = rewrite(TEXT, data)
    assert yaml.safe_load(out) == data
    assert "  b:\n    c: 1\n    d:\n      - e: 2" in out
    assert yaml.safe_load(rewrite(out, edited(b=5))) == edited(b=5)


def test_list_items_are_appended_with_the_same_spacing_and_removed_whole() -> None:
    data = yaml.safe_load(TEXT)
    data["items"].append({"id": "three", "v": 3})
    out = rewrite(TEXT, data)
    assert out.endswith("    v: 2\n\n  - id: three\n    v: 3\n")
    del data["items"][0]
    out = rewrite(TEXT, {**data, "items": data["items"][:1]})
    assert yaml.safe_load(out)["items"] == [{"id": "two", "v": 2}]
    assert "# header comment\n" in out and "# between\n" in out


def test_removing_the_key_on_a_dash_line_rewrites_that_item_only() -> None:
    data = yaml.safe_load(TEXT)
    del data["items"][1]["id"]
    out = rewrite(TEXT, data)
    assert yaml.safe_load(out) == data
    assert out.startswith(TEXT.split("  - id: two")[0])


def test_new_top_level_section_is_separated_by_a_blank_line() -> None:
    data = yaml.safe_load(TEXT)
    data["workflows"] = [{"id": "w"}]
    assert rewrite(TEXT, data) == TEXT + "\nworkflows:\n  - id: w\n"


def test_comment_only_text_keeps_its_comments() -> None:
    out = rewrite("# just a note\n", {"components": []})
    assert out == "# just a note\ncomponents: []\n"


def test_append_and_remove_items_of_a_compose_file() -> None:
    text = "# train\ncomponents:\n  - id: d   # data\n    type: datasets\n"
    out = append_item(text, "components", {"id": "e", "type": "datasets"})
    assert out == text + "  - id: e\n    type: datasets\n"
    out = append_item(out, "workflows", {"id": "w", "jobs": [{"id": "a", "component": "d"}]})
    assert yaml.safe_load(out)["workflows"] == [{"id": "w", "jobs": [{"id": "a", "component": "d"}]}]
    assert remove_item(out, "components", 1).startswith(text)
    with pytest.raises(IndexError):
        remove_item(out, "components", 5)


def test_set_field_on_an_unreadable_text_is_refused() -> None:
    with pytest.raises(ValueError):
        set_field("components: [", "components[0].learning_rate", 1)
