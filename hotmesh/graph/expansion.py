"""Name the YAML alias behind an expansion that went past the loader's limits."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import Node


def alias_use(yaml: YAML, text: str, node: Node) -> tuple[str, int, int] | None:
    """``(anchor, line, col)`` of the first alias to ``node`` in ``text``, if any.

    A composed alias is the anchored node itself, so the node tree no longer
    says where the alias was written. Only an error needs that, so the text's
    events are read again then: the anchor is the one written where ``node``
    starts, and the answer is its first use after that.
    """
    start = (node.start_mark.line, node.start_mark.column)
    anchor: str | None = None
    try:
        for event in yaml.parse(text):
            mark = (event.start_mark.line, event.start_mark.column)
            if anchor is None:
                name: Any = getattr(event, "anchor", None)
                if (
                    name is not None
                    and mark == start
                    and not isinstance(event, AliasEvent)
                ):
                    anchor = str(name)
            elif isinstance(event, AliasEvent) and event.anchor == anchor:
                return anchor, mark[0] + 1, mark[1] + 1
    except YAMLError:  # pragma: no cover - the text was composed without error
        return None
    return None
