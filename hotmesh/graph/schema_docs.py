"""Render the manifest schema reference (Markdown) from ``schemas/*.schema.json``.

Regenerate the committed copy with
``python -m hotmesh.graph.schema_docs > docs/reference/schema.md``.
"""

from __future__ import annotations

import json
from typing import Any

from hotmesh import resources

REGENERATE = "python -m hotmesh.graph.schema_docs > docs/reference/schema.md"

_HEADER = f"""\
# Manifest schema reference

<!-- Generated from schemas/*.schema.json; do not edit. Regenerate with:
     {REGENERATE} -->

A manifest is YAML (or JSON) checked against these JSON Schemas (Draft 2020-12)
before it is compiled; `hotmesh validate FILE` reports every violation as
`file:line:col: message`. *Mapping rule* means any
value of the [mapping language](../concepts/mapping.md): a literal, a
`'{{reference}}'` or `'{{@function}}'` string, an `@pipe` object, or a nested
object of rules. Semantic checks (transitions to known activities, one trigger
per graph, known functions, ...) run after the schema; see
[app graphs](../concepts/graphs.md).

**Unknown keys.** A key that none of the tables below accepts where it stands is
handled in one of two ways:

- within a small edit distance of a key that *is* accepted there (one edit for
  keys of up to four letters, two for longer ones; case is ignored), it is an
  **error** with a hint, and nothing is deployed:
  `app.yaml:18:13: unknown key 'condition' (did you mean 'conditions'?)`;
- any other unknown key is a **warning** and the key is ignored:
  `app.yaml:21:13: warning: unknown key 'notes' is ignored`. `hotmesh validate`
  and `hotmesh deploy` print warnings, `HotMesh.deploy()` returns them under
  `"warnings"` (and logs them on the `hotmesh.deploy` logger), and unreachable
  activities are reported the same way.

`hotmesh validate --strict`, `hotmesh deploy --strict` and
`HotMesh.deploy(source, strict=True)` turn every warning into an error. A deploy
that fails stores nothing, so its version number stays free for the fixed
manifest. Upstream HotMesh ignores every unknown key; the typo check is ours on
purpose (upstream's own `seeds/graphs/sleep.do.yaml` misspells `input` and
`output` as `inputs` and `outputs`, and is refused here).
"""

#: Sections in reading order: (file, title, intro).
_FILES = (
    (
        "app.schema.json",
        "App",
        "The root of a manifest: `app:` with its id, version and graphs.",
    ),
    (
        "graph.schema.json",
        "Graph",
        "One item of `app.graphs`: a workflow started by publishing to `subscribes`.",
    ),
    (
        "activity.schema.json",
        "Activity",
        "One entry of a graph's `activities` (keyed by activity id). Keys common to "
        "every type come first, then the keys each `type` adds.",
    ),
    (
        "schedule.schema.json",
        "Schedule",
        "One item of `app.schedules`: a cron or interval schedule deployed with "
        "the version and firing while the version is active "
        "([schedules](../concepts/schedules-and-limits.md#schedules-in-a-manifest)). "
        "Cron, time zone and durations are checked at deploy.",
    ),
    ("mapping.schema.json", "Mapping value", ""),
)


def _load(name: str) -> dict[str, Any]:
    text = (resources.schemas_dir() / name).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def _anchor(file: str, name: str) -> str:
    return f"{file.split('.')[0]}-{name}".lower()


def _ref(ref: str, file: str) -> str:
    """A link for a ``$ref``."""
    target, _, pointer = ref.partition("#")
    target = target or file
    if pointer.startswith("/$defs/"):
        name = pointer.rsplit("/", 1)[1]
        return f"[{name}](#{_anchor(target, name)})"
    title = {
        "mapping.schema.json": "mapping rule",
        "activity.schema.json": "activity",
        "graph.schema.json": "graph",
        "app.schema.json": "app",
        "schedule.schema.json": "schedule",
    }.get(target, target)
    return f"[{title}](#{target.split('.')[0]})"


def _type(node: Any, file: str) -> str:
    """A short human description of a schema node's accepted values."""
    if node is True:
        return "any value"
    if not isinstance(node, dict):
        return ""
    if "x-expected" in node:
        text = str(node["x-expected"])
        if "$ref" in node:
            text += f" ({_ref(node['$ref'], file)})"
        return text
    if "$ref" in node:
        return _ref(node["$ref"], file)
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "anyOf" in node:
        return " or ".join(_type(n, file) for n in node["anyOf"])
    kind = node.get("type")
    if kind == "array":
        items = node.get("items")
        return f"list of {_type(items, file)}" if items else "list"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map of name → {_type(node['additionalProperties'], file)}"
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind is not None:
        return str(kind)
    return "object" if "properties" in node else "any value"


def _constraints(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    parts = []
    for key, label in (
        ("minLength", "min length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("minProperties", "min entries"),
        ("minimum", "≥"),
        ("maximum", "≤"),
    ):
        if key in node:
            parts.append(f"{label} {node[key]}")
    if "pattern" in node:
        parts.append(f"pattern `{node['pattern']}`")
    if isinstance(node.get("not"), dict) and "const" in node["not"]:
        parts.append(f"not `{json.dumps(node['not']['const'])}`")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("\n", " ")


def _table(node: dict[str, Any], file: str) -> list[str]:
    props: dict[str, Any] = node.get("properties", {})
    patterns: dict[str, Any] = node.get("patternProperties", {})
    if not props and not patterns:
        return []
    required = set(node.get("required", []))
    lines = ["| key | accepts | required | notes |", "|---|---|---|---|"]
    for key, sub in props.items():
        notes = [_constraints(sub)]
        if isinstance(sub, dict) and sub.get("description") and "$ref" not in sub:
            notes.append(str(sub["description"]))
        if isinstance(sub, dict) and isinstance(sub.get("properties"), dict):
            keys = ", ".join(f"`{k}`" for k in sub["properties"])
            notes.append(f"keys: {keys}")
        lines.append(
            f"| `{key}` | {_cell(_type(sub, file))} | {'yes' if key in required else ''} "
            f"| {_cell('; '.join(n for n in notes if n))} |"
        )
    for pattern, sub in patterns.items():
        lines.append(
            f"| keys matching `{pattern}` | {_cell(_type(sub, file))} |  | "
            "documentation only |"
        )
    return lines


def _closed(node: dict[str, Any]) -> bool:
    return (
        node.get("unevaluatedProperties") is False
        or node.get("additionalProperties") is False
    )


def _type_variants(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """``(activity type, $def name)`` from the activity schema's if/then blocks."""
    found = []
    for rule in doc.get("allOf", []):
        const = rule.get("if", {}).get("properties", {}).get("type", {}).get("const")
        ref = rule.get("then", {}).get("$ref", "")
        if const and ref.startswith("#/$defs/"):
            found.append((str(const), ref.rsplit("/", 1)[1]))
    return found


def render() -> str:
    """The whole Markdown reference."""
    out = [_HEADER]
    for file, title, intro in _FILES:
        doc = _load(file)
        out.append(f'<a id="{file.split(".")[0]}"></a>\n\n## {title} (`{file}`)\n')
        if intro:
            out.append(intro + "\n")
        if doc.get("description"):
            out.append(str(doc["description"]) + "\n")
        if file == "app.schema.json":
            app = doc["properties"]["app"]
            out.append("Under the top-level key `app`:\n")
            out.extend(_table(app, file))
            out.append("")
        else:
            table = _table(doc, file)
            if table:
                out.extend(table)
                out.append("")
        variants = _type_variants(doc)
        if variants:
            out.append("### Keys by activity type\n")
            for kind, name in variants:
                link = f"[{name}](#{_anchor(file, name)})"
                out.append(f"- `type: {kind}` adds the keys of {link}")
            out.append("")
        if _closed(doc):
            out.append("No other keys are allowed.\n")
        for name, node in doc.get("$defs", {}).items():
            out.append(f'<a id="{_anchor(file, name)}"></a>\n\n### {name}\n')
            if node.get("description"):
                out.append(str(node["description"]) + "\n")
            table = _table(node, file)
            if table:
                out.extend(table)
                out.append("")
            else:
                out.append(f"Accepts: {_type(node, file)}.\n")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
