"""Parse ``$ref`` strings and follow their JSON pointers through composed YAML nodes."""

from __future__ import annotations

from typing import cast
from urllib.parse import unquote

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR_TAG = "tag:yaml.org,2002:str"
_KEY_TAGS = {STR_TAG, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


def key_text(node: Node) -> str | None:
    """A mapping key as JSON text: strings and numbers (``500:``), nothing else."""
    if isinstance(node, ScalarNode) and node.tag in _KEY_TAGS:
        return str(node.value)
    return None


def split(ref: str) -> tuple[str, str, list[str]]:
    """``'rel/file.yaml#/a/b~1c'`` -> (``rel/file.yaml``, ``/a/b~1c``, ``['a', 'b/c']``)."""
    rel, _, fragment = ref.partition("#")
    tokens = [
        unquote(raw).replace("~1", "/").replace("~0", "~")
        for raw in fragment.split("/")[1:]
    ]
    return rel, fragment, tokens


def step(node: Node, token: str) -> Node | None:
    """One JSON-pointer step into a YAML node (None when there is no such child)."""
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if key_text(key_node) == token:
                return cast(Node, value)
    elif isinstance(node, SequenceNode) and token.isdigit():
        if int(token) < len(node.value):
            return cast(Node, node.value[int(token)])
    return None
