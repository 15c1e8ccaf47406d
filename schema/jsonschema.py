"""JSON Schema (draft 2020-12) of one record, generated from ``schema.record.FIELDS``.

Served at ``GET /v1/schema/record.json`` for force integrators. Cross-field rules (date
order, outcome date with outcome) cannot be expressed in JSON Schema and are described
in each field's description; the server's validation is the authority.
"""

from __future__ import annotations

from typing import Any

from schema import codelists
from schema.record import FIELDS, STANDARD_VERSION, FieldSpec, Kind

_NULLABLE_STRING = ["string", "null"]


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": spec.description}
    if spec.kind is Kind.REF:
        schema.update(type="string", pattern="^[A-Za-z0-9._:/-]{1,64}$")
    elif spec.kind is Kind.OFFENCE_CODE:
        schema.update(type="string", examples=[o.code for o in codelists.offence_codes()])
    elif spec.kind is Kind.OUTCOME_TYPE:
        schema.update(
            type=["string", "null"],
            examples=["", "0", *(o.code for o in codelists.outcome_types())],
        )
    elif spec.kind is Kind.DATE:
        schema.update(type="string", format="date")
    elif spec.kind is Kind.DATETIME:
        schema.update(type="string", format="date-time")
    elif spec.kind is Kind.BOOLEAN:
        schema.update(type=["boolean", "string", "null"], enum=[True, False, "true", "false", None])
    elif spec.kind is Kind.CHOICE:
        schema.update(type=["string", "null"], enum=[*spec.choices, None])
    if not spec.required and "null" not in schema.get("type", []):
        schema["type"] = (
            [schema["type"], "null"]
            if isinstance(schema["type"], str)
            else [*schema["type"], "null"]
        )
    if spec.default is not None:
        schema["default"] = spec.default
    return schema


def record_json_schema(base_url: str = "") -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base_url.rstrip('/')}/v1/schema/record.json",
        "title": f"RASSO Record Standard v{STANDARD_VERSION}: one pseudonymised recorded crime",
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in FIELDS if f.required],
        "properties": {f.name: _field_schema(f) for f in FIELDS},
    }


def record_standard_markdown() -> str:
    """The docs page ``docs/record-standard.md`` (kept in sync by a test)."""
    lines = [
        f"# RASSO Record Standard v{STANDARD_VERSION}",
        "",
        "Generated from `schema/record.py` by `soteria docs`; do not edit by hand.",
        "One row per recorded crime, pseudonymised. The standard holds no names, dates of",
        "birth, addresses, postcodes or phone numbers: a column that looks like one is refused.",
        "",
        "| field | type | required | rules |",
        "|---|---|---|---|",
    ]
    for spec in FIELDS:
        kind = spec.kind.value
        if spec.choices:
            kind += ": " + " ".join(f"`{c}`" for c in spec.choices)
        lines.append(
            f"| `{spec.name}` | {kind} | {'yes' if spec.required else 'no'} | {spec.description} |"
        )
    lines += [
        "",
        "Offence codes: " + ", ".join(f"`{o.code}`" for o in codelists.offence_codes()) + ".",
        "",
        "Outcome types: "
        + ", ".join(f"`{o.code}`" for o in codelists.outcome_types())
        + " (empty or `0`: open).",
        "",
    ]
    return "\n".join(lines)
