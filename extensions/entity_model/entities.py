"""Parsing nomnom entity files into normalized :class:`~.model.Entity` objects.

Reads the legacy form (one top-level ``entity:`` key), nomnom's Entity Schema v1
(``apiVersion: nomnom.io/v1``, converted by :mod:`.v1` into the legacy shape, as
nomnom does), and a legacy entity body wrapped in ``kind: Entity`` /
``metadata`` / ``spec`` (read by earlier releases of this template). One
resolver then serves all of them, in any mix. Only what the dashboard needs is
read; derivation keys (``computed_from``, ``extraction``, ...) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ModelError, excerpt
from .field_types import ColumnType, known_type_names, normalize_type
from .identifiers import EVENTS_TABLE, identifier_problem, split_table
from .model import ENTITY_KINDS, Column, Entity, EntityKind, SkippedEntity
from .v1 import is_legacy_spec, read_v1
from .yaml_source import Node, load_yaml_file


@dataclass(frozen=True)
class RawEntity:
    """One entity as written in its file, before ``extends`` is resolved."""

    name: str
    node: Node  # the entity mapping (``entity:``, ``spec:``, or a v1 spec converted to that shape)
    file: Path
    name_key: str = ""
    """Where the name is written (``entity.name``, ``metadata.name``)."""
    unpersisted_reason: str = ""
    """Why it has no table when it has none (v1 knows more than "no persistence")."""

    @property
    def abstract(self) -> bool:
        return self.node.bool_or("abstract", False)

    @property
    def parent_name(self) -> str | None:
        return self.node.child("extends").as_str() if self.node.has("extends") else None


def read_entity_file(path: Path) -> RawEntity:
    document = Node(load_yaml_file(path), path, "")
    if document.value is None:
        raise document.error("file is empty (expected a top-level `entity:` key)")
    mapping = document.require_mapping()
    if "entity" in mapping:
        node = document.child("entity")
        node.require_mapping()
        return RawEntity(node.required_str("name"), node, path, name_key="entity.name")
    if "kind" in mapping and "spec" in mapping:
        kind = document.child("kind").as_str()
        if kind != "Entity":
            raise document.child("kind").error(f"expected `Entity`, got {excerpt(kind)}")
        spec = document.child("spec")
        spec.require_mapping()
        if is_legacy_spec(spec):
            name = document.child("metadata").required_str("name")
            return RawEntity(name, spec, path, name_key="metadata.name")
        v1 = read_v1(document)
        return RawEntity(v1.name_node.as_str(), v1.node, path, v1.name_node.path, v1.unpersisted_reason)
    raise document.error(
        "not an entity file: expected a top-level `entity:` key (or `kind: Entity` with `metadata` and `spec`)"
    )


def resolve_entities(raw_entities: list[RawEntity]) -> tuple[list[Entity], list[SkippedEntity]]:
    """Resolve ``extends``, normalize the persisted entities; the others are returned with the reason."""
    by_name: dict[str, RawEntity] = {}
    by_folded_name: dict[str, RawEntity] = {}
    for raw in raw_entities:
        problem = _entity_name_problem(raw.name)
        if problem:
            raise ModelError(problem, file=raw.file, key=_name_key(raw))
        if raw.name in by_name:
            raise ModelError(
                f"entity {excerpt(raw.name)} is also defined in {by_name[raw.name].file.name}",
                file=raw.file,
                key=_name_key(raw),
            )
        twin = by_folded_name.get(raw.name.lower())
        if twin is not None:
            raise ModelError(
                f"entity {raw.name!r} differs from entity {twin.name!r} (in {twin.file.name}) only by case: "
                f"{_CASE_CLASH['entity']}; rename one",
                file=raw.file,
                key=_name_key(raw),
            )
        by_name[raw.name] = raw
        by_folded_name[raw.name.lower()] = raw

    entities: list[Entity] = []
    skipped: list[SkippedEntity] = []
    tables: dict[str, tuple[str, RawEntity]] = {}  # lower-cased table name -> (table, entity)
    for raw in raw_entities:
        if raw.abstract:
            skipped.append(SkippedEntity(raw.name, raw.file.name, ABSTRACT))
            continue
        chain = _ancestry(raw, by_name)
        persistence = _merged_persistence(chain)
        if persistence is None:  # not persisted: nothing to capture
            reason = raw.unpersisted_reason or f"not persisted (no {raw.node.path}.persistence.database)"
            skipped.append(SkippedEntity(raw.name, raw.file.name, reason))
            continue
        entity = _build_entity(raw, chain, persistence)
        folded_table = entity.qualified_table.lower()
        if folded_table in tables:
            table, other = tables[folded_table]
            problem = (
                f"table {entity.qualified_table!r} is already used by entity {other.name!r} "
                f"in {other.file.name}; two entities cannot share one table"
                if table == entity.qualified_table
                else f"table {entity.qualified_table!r} of entity {raw.name} differs from table {table!r} of entity "
                f"{other.name!r} (in {other.file.name}) only by case: {_CASE_CLASH['table']}; rename one"
            )
            raise ModelError(problem, file=raw.file, key=persistence.database_key("conformant_table"))
        tables[folded_table] = (entity.qualified_table, raw)
        entities.append(entity)
    return entities, skipped


ABSTRACT = "abstract (only the entities that extend it have tables)"

# Names that differ only by case are one name somewhere downstream; each says where.
_CASE_CLASH = {
    "entity": "their generated files (docs/entities/<name>.md) would be one file on case-insensitive file systems",
    "table": "MySQL and MariaDB on case-insensitive file systems (lower_case_table_names) see one table",
    "column": "MySQL and MariaDB compare column names without case, so the two would be one column",
}


def _entity_name_problem(name: str) -> str | None:
    problem = identifier_problem(name)
    return f"entity name {problem}" if problem else None


def _name_key(raw: RawEntity) -> str:
    return raw.name_key or f"{raw.node.path}.name"


def _ancestry(raw: RawEntity, by_name: dict[str, RawEntity]) -> list[RawEntity]:
    """[root ancestor, ..., raw]: ``extends`` followed to the top."""
    chain = [raw]
    current = raw
    while current.parent_name is not None:
        parent = by_name.get(current.parent_name)
        key_node = current.node.child("extends")
        if parent is None:
            raise key_node.error(f"extends unknown entity {excerpt(current.parent_name)}")
        if parent in chain:
            raise key_node.error(f"`extends` forms a cycle through {parent.name!r}")
        chain.insert(0, parent)
        current = parent
    return chain


@dataclass(frozen=True)
class _Persistence:
    """``persistence`` merged down an ``extends`` chain; each value keeps its node."""

    database: dict[str, Node]
    primary_key: dict[str, Node]
    overrides: list[Node]
    owner: RawEntity  # the entity whose file we report errors against

    def database_key(self, key: str) -> str:
        node = self.database.get(key)
        return node.path if node is not None else f"{self.owner.node.path}.persistence.database.{key}"


def _merged_persistence(chain: list[RawEntity]) -> _Persistence | None:
    database: dict[str, Node] = {}
    primary_key: dict[str, Node] = {}
    overrides: dict[str, Node] = {}
    for raw in chain:
        if not raw.node.has("persistence"):
            continue
        persistence = raw.node.child("persistence")
        persistence.require_mapping()
        if persistence.has("database"):
            db = persistence.child("database")
            database.update({str(key): db.child(str(key)) for key in db.require_mapping()})
        if persistence.has("primary_key"):
            pk = persistence.child("primary_key")
            primary_key.update({str(key): pk.child(str(key)) for key in pk.require_mapping()})
        own: set[str] = set()
        for override in persistence.child("field_overrides").items():
            name = override.required_str("name")
            if name in own:
                raise override.child("name").error(f"column {excerpt(name)} is overridden twice")
            own.add(name)
            overrides[name] = override
    if not database:
        return None
    return _Persistence(database, primary_key, list(overrides.values()), chain[-1])


def _fields(chain: list[RawEntity]) -> dict[str, Node]:
    fields: dict[str, Node] = {}
    for raw in chain:
        for field_node in raw.node.child("fields").items():
            fields[field_node.required_str("name")] = field_node
    return fields


def _kind(raw: RawEntity) -> EntityKind:
    for key in ("type", "source_type"):
        if raw.node.has(key):
            node = raw.node.child(key)
            value = node.as_str().lower()
            if value not in ENTITY_KINDS:
                raise node.error(f"unknown entity type {excerpt(value)} (expected one of {', '.join(ENTITY_KINDS)})")
            return value
    return "derived" if raw.node.has("parent") or raw.node.has("repeated_for") else "root"


def _identifier(node: Node, what: str) -> str:
    name = node.as_str()
    problem = identifier_problem(name)
    if problem:
        raise node.error(f"{what} {problem}")
    return name


def _column_type(node: Node) -> tuple[ColumnType, bool]:
    raw_type = node.as_str()
    normalized = normalize_type(raw_type)
    if normalized is None:
        raise node.error(f"unknown field type {excerpt(raw_type)} (known: {known_type_names()})")
    return normalized


def _length(node: Node, column_type: ColumnType) -> int | None:
    if not node.has("args"):
        return None
    args = list(node.child("args").items())
    if not args or column_type != "string":
        return None
    return args[0].as_int(1, 65_535)


def _build_entity(raw: RawEntity, chain: list[RawEntity], persistence: _Persistence) -> Entity:
    table_node = persistence.database.get("conformant_table")
    if table_node is None or table_node.value is None:
        raise ModelError("is required", file=raw.file, key=persistence.database_key("conformant_table"))
    try:
        schema, table = split_table(table_node.as_str())
    except ValueError as error:
        raise table_node.error(f"table name {error}") from None
    if table == EVENTS_TABLE and not schema:
        raise table_node.error(f"table {EVENTS_TABLE!r} is reserved for the dashboard's change log")
    id_node = persistence.database.get("conformant_id_column")
    if id_node is None or id_node.value is None:
        raise ModelError("is required", file=raw.file, key=persistence.database_key("conformant_id_column"))
    id_column = _identifier(id_node, "column name")
    key = _id_column(id_column, persistence)
    key_override = _key_override(persistence)
    if key_override is not None:
        # Written by the application, like any field: never generated by the database.
        id_column = _identifier(key_override.child("name"), "column name")
        key = Column(name=id_column, type="integer", primary_key=True)

    fields = _fields(chain)
    columns: dict[str, Column] = {id_column: key}
    for override in persistence.overrides:
        column = _override_column(override, fields, id_column)
        twin = next((name for name in columns if name.lower() == column.name.lower() and name != column.name), None)
        if twin is not None:
            raise override.child("name").error(
                f"column {column.name!r} of entity {raw.name} differs from its column {twin!r} only by case: "
                f"{_CASE_CLASH['column']}; rename one"
            )
        if column.name == id_column:
            # An override of the id column may refine its type or doc, never its key role.
            key = columns[id_column]
            column = replace(column, autogenerate=key.autogenerate and column.type == "integer")
        columns[column.name] = column

    unicity: list[str] = []
    unicity_node = persistence.database.get("unicity_fields")
    if unicity_node is not None:
        for item in unicity_node.items():
            name = item.as_str()
            if name not in columns:
                raise item.error(f"unicity field {excerpt(name)} is not a persisted column (add a field_override)")
            unicity.append(name)

    return Entity(
        name=raw.name,
        table=table,
        schema=schema,
        id_column=id_column,
        kind=_kind(raw),
        columns=tuple(columns.values()),
        unicity_fields=tuple(unicity),
        doc=_doc(raw.node),
        source=raw.file.name,
        parent=_parent(raw),
    )


def _key_override(persistence: _Persistence) -> Node | None:
    """The field override marked ``primary_key: true``, which keys the rows instead of the id column.

    nomnom's Diesel schema takes the key from ``persistence.primary_key`` when there
    is one, else from the override marked ``primary_key``, else the id column; a v1
    ``constraints.primaryKey`` arrives here as that mark.
    """
    if persistence.primary_key:
        return None
    marked = [node for node in persistence.overrides if node.has("primary_key") and node.child("primary_key").as_bool()]
    if len(marked) > 1:
        first, second = marked[0].child("name"), marked[1].child("primary_key")
        raise second.error(
            f"a second primary key field (the first is {first.as_str()!r} at {first.path}): the dashboard keys "
            "each row by one column, so composite keys are not supported"
        )
    return marked[0] if marked else None


def _id_column(name: str, persistence: _Persistence) -> Column:
    column_type: ColumnType = "integer"
    autogenerate = True
    pk = persistence.primary_key
    if pk.get("type") is not None and pk["type"].value is not None:
        column_type, _ = _column_type(pk["type"])
    if pk.get("autogenerate") is not None and pk["autogenerate"].value is not None:
        autogenerate = pk["autogenerate"].as_bool()
    elif persistence.database.get("autogenerate_conformant_id") is not None:
        node = persistence.database["autogenerate_conformant_id"]
        autogenerate = node.as_bool() if node.value is not None else True
    return Column(name=name, type=column_type, primary_key=True, autogenerate=autogenerate and column_type == "integer")


def _override_column(override: Node, fields: dict[str, Node], id_column: str) -> Column:
    name_node = override.child("name")
    name = _identifier(name_node, "column name")
    field_node = fields.get(name)
    if field_node is None and name != id_column:
        raise name_node.error(f"field override {excerpt(name)} names no field of this entity")

    def pick(key: str) -> Node | None:
        for node in (override, field_node):
            if node is not None and node.has(key):
                return node.child(key)
        return None

    type_node = pick("type")
    if type_node is None:
        raise override.child("type").error("is required (neither the override nor the field gives a type)")
    column_type, implied_nullable = _column_type(type_node)
    nullable_node = pick("nullable")
    nullable = nullable_node.as_bool() if nullable_node is not None else implied_nullable
    length_source = override if override.has("args") else field_node
    index_node = pick("index")
    return Column(
        name=name,
        type=column_type,
        nullable=nullable and name != id_column,
        length=_length(length_source, column_type) if length_source is not None else None,
        primary_key=name == id_column,
        autogenerate=False,
        indexed=index_node.as_bool() if index_node is not None else False,
        doc=_doc(override) or (_doc(field_node) if field_node is not None else ""),
    )


def _parent(raw: RawEntity) -> str:
    """The entity a derived entity is extracted from (not `extends`: that is inheritance).

    nomnom's ``parent``, its only ``parents[].type``, or ``repeated_for.entity``; with
    several parents none is "the" parent.
    """
    node = raw.node
    if isinstance(node.child("parent").value, str):
        return node.child("parent").as_str()
    parents = node.child("parents")
    if isinstance(parents.value, list) and len(parents.value) == 1:
        only = next(parents.items())
        if isinstance(only.value, dict) and isinstance(only.child("type").value, str):
            return only.child("type").as_str()
    repeated = node.child("repeated_for")
    if isinstance(repeated.value, dict) and isinstance(repeated.child("entity").value, str):
        return repeated.child("entity").as_str()
    return ""


def _doc(node: Node) -> str:
    """Docs are free text: anything but a string counts as no doc."""
    value = node.child("doc").value
    return " ".join(value.split()) if isinstance(value, str) else ""
