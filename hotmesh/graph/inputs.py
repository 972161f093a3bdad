"""Check a job's input against its graph's ``input.schema`` before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from hotmesh.frozen import thaw
from hotmesh.telemetry import logs

log = logs.get("hotmesh.graph")

# Plans are immutable and cached by the engine, so a schema object's id is a
# stable key while the object (kept here too) is alive.
_validators: dict[int, tuple[Any, Draft202012Validator | None]] = {}


def _validator(schema: Mapping[str, Any]) -> Draft202012Validator | None:
    entry = _validators.get(id(schema))
    if entry is None or entry[0] is not schema:
        plain = thaw(schema)
        try:
            Draft202012Validator.check_schema(plain)
            validator: Draft202012Validator | None = Draft202012Validator(plain)
        except SchemaError as exc:
            # Upstream treats input schemas as documentation; an invalid one
            # must not stop jobs, but the author should hear about it.
            log.warning(
                "input schema is not a valid JSON Schema, not enforced: %s", exc.message
            )
            validator = None
        entry = (schema, validator)
        _validators[id(schema)] = entry
    return entry[1]


def input_problem(schema: Mapping[str, Any], data: Any) -> tuple[str, str] | None:
    """``(json pointer, message)`` of the most relevant violation, or None when valid."""
    validator = _validator(schema)
    if validator is None:
        return None
    error = best_match(validator.iter_errors(data))
    if error is None:
        return None
    pointer = "".join(
        "/" + str(part).replace("~", "~0").replace("/", "~1")
        for part in error.absolute_path
    )
    return pointer or "/", error.message
