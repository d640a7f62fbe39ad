"""Edit YAML text in place: only the values that changed are rewritten.

:func:`rewrite` compares the data a text holds with the data it should hold and
splices new text over the changed values only, using PyYAML's node marks. Comments,
blank lines, key order and quoting of everything untouched stay byte for byte.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from compose.yamlio.bounded import compose_and_construct
from compose.yamlio.render import dump_block, dump_inline, indent_block, is_collection

_order = itertools.count()


@dataclass(order=True)
class _Edit:
    start: int
    end: int
    text: str = field(compare=False)
    # Edits at one position apply last-made first, so the first-made text ends up first.
    seq: int = field(default_factory=lambda: next(_order))


def same(a: Any, b: Any) -> bool:
    """Equality that tells ``1`` from ``True`` and ``1.0`` from ``"1.0"``."""
    if type(a) is not type(b):
        if (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not isinstance(a, bool)
            and not isinstance(b, bool)
        ):
            return bool(a == b)
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def rewrite(text: str, new_data: Any) -> str:
    """``text`` changed so that it loads as ``new_data``, comments kept where untouched."""
    root, old_data = compose_and_construct(text)
    if root is None and text.strip():
        return text.rstrip("\n") + "\n" + dump_block(new_data)  # comments only: keep them on top
    if root is None or not isinstance(root, MappingNode) or not isinstance(new_data, dict):
        return dump_block(new_data)
    editor = _Editor(text)
    editor.diff(root, old_data, new_data)
    _move_out_of_deletions(editor.edits)
    out = text
    for edit in sorted(editor.edits, reverse=True):
        out = out[: edit.start] + edit.text + out[edit.end :]
    return out


def _move_out_of_deletions(edits: list[_Edit]) -> None:
    """An insertion after a line that another edit deletes (the last item of a shortened
    list) moves to the end of the line before the deleted ones."""
    deletions = [e for e in edits if e.end > e.start and not e.text]
    moved = True
    while moved:
        moved = False
        for edit in edits:
            if edit.start != edit.end:
                continue
            for gone in deletions:
                if gone.start < edit.start < gone.end:
                    edit.start = edit.end = max(gone.start - 1, 0)
                    moved = True


class _Editor:
    def __init__(self, text: str):
        self.text = text
        self.edits: list[_Edit] = []

    # --- positions ------------------------------------------------------------------
    def content_end(self, node: Node) -> int:
        """Index just past the node's last character (trailing blank lines excluded)."""
        if isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
            last = node.value[-1]
            return self.content_end(last[1] if isinstance(node, MappingNode) else last)
        end = node.end_mark.index
        while end > node.start_mark.index and self.text[end - 1] in " \t\r\n":
            end -= 1
        return end

    def line_end(self, index: int) -> int:
        found = self.text.find("\n", index)
        return len(self.text) if found < 0 else found

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def after_colon(self, key: Node) -> int:
        index = key.end_mark.index
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        return index + 1 if index < len(self.text) and self.text[index] == ":" else key.end_mark.index

    # --- diff ---------------------------------------------------------------------------
    def diff(self, node: Node, old: Any, new: Any, key: Node | None = None) -> None:
        if same(old, new):
            return
        block = isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style
        if (
            block
            and isinstance(node, MappingNode)
            and isinstance(old, dict)
            and is_collection(new)
            and isinstance(new, dict)
            and not self.loses_dash_key(node, new)
        ):
            self.diff_mapping(node, old, new)
        elif (
            block
            and isinstance(node, SequenceNode)
            and isinstance(old, list)
            and is_collection(new)
            and isinstance(new, list)
        ):
            self.diff_sequence(node, old, new)
        elif key is not None:
            self.replace_mapping_value(key, node, new)
        else:
            self.replace_item(node, new)

    def loses_dash_key(self, node: MappingNode, new: dict[str, Any]) -> bool:
        """True when the key sharing a list dash's line ("- id: x") is removed: then the
        whole item is rewritten rather than leave the dash without its first key."""
        first = node.value[0][0]
        on_dash_line = self.text[self.line_start(first.start_mark.index) : first.start_mark.index].strip()
        return bool(on_dash_line) and first.value not in new

    def diff_mapping(self, node: MappingNode, old: dict[str, Any], new: dict[str, Any]) -> None:
        entries = {k.value: (k, v) for k, v in node.value if isinstance(k, ScalarNode)}
        for name in old:
            if name not in new and name in entries:
                self.delete_entry(node, *entries[name])
        for name in new:
            if name in old and name in entries:
                key, value = entries[name]
                self.diff(value, old[name], new[name], key=key)
        if any(name not in old for name in new):
            self.add_entries(node, old, new)

    def diff_sequence(self, node: SequenceNode, old: list[Any], new: list[Any]) -> None:
        if self.diff_by_id(node, old, new):
            return
        for index in range(min(len(old), len(new))):
            self.diff(node.value[index], old[index], new[index])
        for index in range(len(new), len(old)):
            self.delete_item(node.value[index])
        if len(new) > len(old):
            self.insert_items(node, len(old) - 1, new[len(old) :])

    def diff_by_id(self, node: SequenceNode, old: list[Any], new: list[Any]) -> bool:
        """Lists of ``id:`` mappings (components, jobs) are matched by id, so removing the
        first component deletes its lines instead of rewriting every one after it."""
        old_ids, new_ids = _ids(old), _ids(new)
        if old_ids is None or new_ids is None:
            return False
        kept = [i for i in new_ids if i in old_ids]
        if kept != [i for i in old_ids if i in new_ids]:
            return False  # reordered: compare position by position
        for index, item_id in enumerate(old_ids):
            if item_id not in new_ids:
                self.delete_item(node.value[index])
        after = -1  # the old item the next new one follows
        pending: list[Any] = []
        for item in new:
            item_id = item["id"]
            if item_id in old_ids:
                if pending:
                    self.insert_items(node, after, pending)
                    pending = []
                after = old_ids.index(item_id)
                self.diff(node.value[after], old[after], item)
            else:
                pending.append(item)
        if pending:
            self.insert_items(node, after, pending)
        return True

    # --- edits --------------------------------------------------------------------------
    def replace_mapping_value(self, key: Node, node: Node, new: Any) -> None:
        start = self.after_colon(key)
        empty = isinstance(node, ScalarNode) and node.value == "" and not node.style
        end = start if empty else max(start, self.content_end(node))
        flow_node = isinstance(node, (MappingNode, SequenceNode)) and node.flow_style
        block = dump_block(new) if is_collection(new) and not flow_node else ""
        if block.count("\n") > 1:
            column = (
                node.start_mark.column
                if isinstance(node, (MappingNode, SequenceNode))
                and not empty
                and node.start_mark.line > key.start_mark.line
                else key.start_mark.column + 2
            )
            body = indent_block(block, column).rstrip("\n")
            self.edits.append(_Edit(start, end, "\n" + body))
        else:
            self.edits.append(_Edit(start, end, " " + dump_inline(new)))

    def replace_item(self, node: Node, new: Any) -> None:
        start, end = node.start_mark.index, self.content_end(node)
        if isinstance(new, dict) and new and not (isinstance(node, MappingNode) and node.flow_style):
            column = node.start_mark.column
            body = indent_block(dump_block(new), column).rstrip("\n")[column:]
            self.edits.append(_Edit(start, end, body))
        else:
            self.edits.append(_Edit(start, end, dump_inline(new)))

    def delete_entry(self, mapping: MappingNode, key: Node, value: Node) -> None:
        start = self.line_start(key.start_mark.index)
        end = self.line_end(self.content_end(value))
        self.edits.append(_Edit(start, min(end + 1, len(self.text)), ""))

    def add_entries(self, mapping: MappingNode, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Write keys new to ``mapping`` after the key that precedes them in ``new``."""
        entries = {k.value: (k, v) for k, v in mapping.value if isinstance(k, ScalarNode)}
        column = mapping.value[0][0].start_mark.column
        gap = "\n" if column == 0 else ""  # a new top-level section gets a blank line
        anchor = mapping.value[-1][1]
        groups: dict[int, list[str]] = {}
        for name in new:
            if name in old and name in entries:
                anchor = entries[name][1]
            elif name not in old:
                at = self.line_end(self.content_end(anchor))
                groups.setdefault(at, []).append(indent_block(dump_block({name: new[name]}), column).rstrip("\n"))
        for at, lines in groups.items():
            self.edits.append(_Edit(at, at, "\n" + gap + ("\n" + gap).join(lines)))

    def delete_item(self, item: Node) -> None:
        """Delete an item's lines and one of the blank-line runs around it, so the items
        left keep the spacing they had."""
        start = self.line_start(item.start_mark.index)
        end = min(self.line_end(self.content_end(item)) + 1, len(self.text))
        if start > 0 and not self.text[self.line_start(start - 1) : start].strip():
            while start > 0 and not self.text[self.line_start(start - 1) : start].strip():
                start = self.line_start(start - 1)
        else:
            while end < len(self.text) and not self.text[end : self.line_end(end)].strip():
                end = min(self.line_end(end) + 1, len(self.text))
        self.edits.append(_Edit(start, end, ""))

    def insert_items(self, node: SequenceNode, after: int, items: list[Any]) -> None:
        """Write ``items`` after item ``after`` of a block sequence (-1: before the first)."""
        dash_column = node.start_mark.column
        gap = ""
        if len(node.value) >= 2:
            between = self.text[self.content_end(node.value[0]) : node.value[1].start_mark.index]
            gap = "\n" if "\n\n" in between.replace(" ", "") else ""
        bodies = [indent_block(dump_block([item]), dash_column).rstrip("\n") for item in items]
        if after < 0:
            at = self.line_start(node.value[0].start_mark.index)
            self.edits.append(_Edit(at, at, "".join(body + "\n" + gap for body in bodies)))
        else:
            at = self.line_end(self.content_end(node.value[after]))
            self.edits.append(_Edit(at, at, "".join("\n" + gap + body for body in bodies)))


def _ids(items: list[Any]) -> list[Any] | None:
    """The ``id`` of every item, or None unless each is a mapping with a distinct id."""
    ids = [item.get("id") if isinstance(item, dict) else None for item in items]
    if any(i is None or isinstance(i, (dict, list)) for i in ids) or len(set(ids)) != len(ids):
        return None
    return ids
