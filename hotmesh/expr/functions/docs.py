"""Render the function catalogue reference (docs/reference/functions.md) from the registry.

Regenerate with: ``python -m hotmesh.expr.functions.docs > docs/reference/functions.md``
"""

from __future__ import annotations

import inspect

from hotmesh.expr.functions import registry


def _signature(spec: registry.FunctionSpec) -> str:
    required = spec.arity[0]
    params = []
    for index, param in enumerate(inspect.signature(spec.fn).parameters.values()):
        name = param.name.rstrip("_")
        if param.kind is param.VAR_POSITIONAL:
            params.append(f"...{name}")
        else:
            params.append(name if index < required else f"{name}?")
    return f"@{spec.name}({', '.join(params)})"


def render_reference() -> str:
    """The Markdown reference for every registered function, grouped by namespace."""
    names = registry.names()
    namespaces = sorted({name.split(".")[0] for name in names})
    lines = [
        "# Function reference",
        "",
        "Every `{@namespace.function}` usable in mapping expressions and `@pipe` rows.",
        "Arguments come from the previous pipe row, in order; `?` marks an optional",
        "argument. Generated from the function registry by",
        "`python -m hotmesh.expr.functions.docs`; do not edit by hand.",
        "",
        "Namespaces: " + ", ".join(f"[`@{ns}`](#{ns})" for ns in namespaces) + ".",
        "",
    ]
    for namespace in namespaces:
        lines += [f"## {namespace}", "", "| Function | Description |", "|---|---|"]
        for name in names:
            if name.split(".")[0] != namespace:
                continue
            spec = registry.REGISTRY[name]
            text = spec.doc.replace("|", "\\|")
            if spec.note:
                text += " *Note: " + spec.note.replace("|", "\\|") + "*"
            if not spec.pure:
                text += " *(not deterministic)*"
            lines.append(f"| `{_signature(spec)}` | {text} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_reference(), end="")
