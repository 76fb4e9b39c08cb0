"""The ``fields`` partial-response selector: ``items(id,snippet/title),nextPageToken``.

Grammar (Google's): a comma list of paths; a path is names joined by ``/``; a path may be
followed by ``(sub-selection)``; ``*`` selects every member. Arrays are filtered element-wise.
"""

from __future__ import annotations

from typing import Any

# A selection maps a member name to the selection for its value; None keeps the whole value.
Selection = dict[str, "Selection | None"]


class FieldsError(ValueError):
    pass


def parse(text: str) -> Selection:
    """Parse a `fields` selection; FieldsError when malformed."""
    selection, pos = _parse_list(text, 0)
    if pos != len(text):
        raise FieldsError(f"unexpected {text[pos]!r} at {pos}")
    return selection


def _parse_list(text: str, pos: int) -> tuple[Selection, int]:
    selection: Selection = {}
    while True:
        pos = _parse_path(text, pos, selection)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return selection, pos


def _parse_path(text: str, pos: int, into: Selection) -> int:
    names = []
    while True:
        start = pos
        while pos < len(text) and (text[pos].isalnum() or text[pos] in "_*$.@"):
            pos += 1
        if pos == start:
            raise FieldsError(f"expected a field name at {pos}")
        names.append(text[start:pos].strip())
        if pos < len(text) and text[pos] == "/":
            pos += 1
            continue
        break
    sub: Selection | None = None
    if pos < len(text) and text[pos] == "(":
        sub, pos = _parse_list(text, pos + 1)
        if pos >= len(text) or text[pos] != ")":
            raise FieldsError("unbalanced parenthesis")
        pos += 1
    node = into
    for name in names[:-1]:
        existing = node.get(name, {})
        if existing is None:  # already selected whole
            return pos
        node = node.setdefault(name, existing)
    last = names[-1]
    if sub is None or node.get(last, {}) is None:
        node[last] = None
    else:
        node.setdefault(last, {}).update(sub)  # type: ignore[union-attr]
    return pos


def apply(value: Any, selection: Selection | None) -> Any:
    """Keep only the selected fields of a response."""
    if selection is None:
        return value
    if isinstance(value, list):
        return [apply(v, selection) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in selection:
        sub = selection["*"]
        return {k: apply(v, sub) for k, v in value.items()}
    return {k: apply(value[k], sub) for k, sub in selection.items() if k in value}
