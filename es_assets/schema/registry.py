"""The source's schema registry: the column tree every published day has agreed to, kept in the lake.

A column's type is decided the first time the column is seen and never changes afterwards,
because Athena cannot read one Parquet type as another across partitions (BIGINT as DOUBLE, for
one). A later day therefore:

* keeps every registered column (null where the day has no such field), so days line up;
* adds the fields the registry has not seen as new columns, named without clashing;
* reads a field whose mapping changed kind (``long`` → ``keyword``) into the registered type;
  values that do not convert are kept in ``_unmapped``, and the change is reported as a
  conflict, which fails the schema check until someone decides (see the README).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from es_assets.errors import SchemaError
from es_assets.schema.fields import RESERVED_COLUMNS, Field, column_names


@dataclasses.dataclass(frozen=True)
class SchemaDrift:
    new_columns: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()

    def as_metadata(self) -> dict[str, list[str]]:
        return {"new_columns": list(self.new_columns), "conflicts": list(self.conflicts)}


def reconcile(registered: tuple[Field, ...] | None, day: tuple[Field, ...]) -> tuple[tuple[Field, ...], SchemaDrift]:
    """The day's column tree expressed in the registry's terms, and what drifted."""
    if registered is None:
        return day, SchemaDrift()
    new_columns: list[str] = []
    conflicts: list[str] = []
    fields = _reconcile(registered, day, "", set(RESERVED_COLUMNS), new_columns, conflicts)
    return fields, SchemaDrift(tuple(new_columns), tuple(conflicts))


def _reconcile(
    registered: tuple[Field, ...], day: tuple[Field, ...], prefix: str, reserved: set[str],
    new_columns: list[str], conflicts: list[str],
) -> tuple[Field, ...]:
    todays = {f.source_name: f for f in day}
    merged: list[Field] = []
    for field in registered:
        today = todays.get(field.source_name)
        path = prefix + field.source_name
        if today is None:
            merged.append(field)
        elif field.kind == "object" and today.kind == "object" and field.repeated == today.repeated:
            children = _reconcile(field.children, today.children, path + ".", set(), new_columns, conflicts)
            merged.append(dataclasses.replace(field, children=children))
        elif field.kind == today.kind and field.repeated == today.repeated:
            merged.append(dataclasses.replace(field, date_formats=today.date_formats))
        else:
            conflicts.append(f"{path}: {_describe(field)} in the table, {_describe(today)} today")
            merged.append(field)
    unseen = [f for f in day if f.source_name not in {r.source_name for r in registered}]
    if unseen:
        # New names must not clash with the registered ones (or each other).
        names = column_names([f.source_name for f in unseen], reserved | {f.name for f in registered})
        for field in unseen:
            merged.append(dataclasses.replace(field, name=names[field.source_name]))
            new_columns.append(prefix + field.source_name)
    return tuple(merged)


def add_to_registry(current: tuple[Field, ...] | None, day: tuple[Field, ...], source: str) -> tuple[Field, ...]:
    """The registry after a day's columns join it; refuse if a concurrent run took one of its names."""
    merged, _ = reconcile(current, day)
    if not column_paths(day).items() <= column_paths(merged).items():
        raise SchemaError(f"{source}: another run registered columns with the same names at the same time; run the day again")
    return merged


def column_paths(fields: tuple[Field, ...], prefix: str = "") -> dict[str, str]:
    """Source path -> column path, for every node of the tree."""
    paths: dict[str, str] = {}
    for field in fields:
        paths[prefix + field.source_name] = field.name
        paths.update(
            {f"{prefix}{field.source_name}.{k}": f"{field.name}.{v}"
             for k, v in column_paths(field.children).items()}
        )
    return paths


def _describe(field: Field) -> str:
    return f"list<{field.kind}>" if field.repeated else field.kind


def fields_to_json(fields: tuple[Field, ...]) -> list[dict[str, Any]]:
    return [
        {
            "source_name": f.source_name,
            "name": f.name,
            "kind": f.kind,
            "repeated": f.repeated,
            **({"children": fields_to_json(f.children)} if f.children else {}),
        }
        for f in fields
    ]


def fields_from_json(data: list[dict[str, Any]]) -> tuple[Field, ...]:
    return tuple(
        Field(
            source_name=item["source_name"],
            name=item["name"],
            kind=item["kind"],
            repeated=item["repeated"],
            children=fields_from_json(item.get("children", [])),
        )
        for item in data
    )
