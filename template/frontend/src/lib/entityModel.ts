/**
 * The entity model the page shows, read from `GET /api/entities` after sign-in
 * (the built bundle carries none of it). Checked on arrival, so a backend
 * from another version fails with one message naming the field, not with a
 * blank page.
 */
import type { ColumnConfig, ColumnType, EntityConfig, EntityKind, EventType, Features } from "./types";

export interface DashboardModel {
  readonly entities: readonly EntityConfig[];
  readonly features: Features;
  /** Hash of the frontend sources on the backend's disk now ("" when it cannot see them, e.g. in a container). */
  readonly frontendVersion: string;
}

const COLUMN_TYPES: readonly ColumnType[] = ["string", "integer", "float", "boolean", "date", "datetime", "json"];
const ENTITY_KINDS: readonly EntityKind[] = ["root", "derived", "reference"];
const EVENT_TYPES: readonly EventType[] = ["insert", "update", "delete"];

class ModelError extends Error {}

type Json = Readonly<Record<string, unknown>>;

function object(value: unknown, where: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ModelError(`${where}: expected an object`);
  }
  return value as Json;
}

function array(value: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new ModelError(`${where}: expected a list`);
  return value;
}

function string(value: unknown, where: string): string {
  if (typeof value !== "string") throw new ModelError(`${where}: expected a string`);
  return value;
}

function boolean(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") throw new ModelError(`${where}: expected true or false`);
  return value;
}

function count(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new ModelError(`${where}: expected a whole number`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  const text = string(value, where);
  if (!(allowed as readonly string[]).includes(text)) {
    throw new ModelError(`${where}: ${JSON.stringify(text)} is not one of ${allowed.join(", ")}`);
  }
  return text as T;
}

function column(value: unknown, where: string): ColumnConfig {
  const data = object(value, where);
  return {
    name: string(data.name, `${where}.name`),
    type: oneOf(data.type, COLUMN_TYPES, `${where}.type`),
    nullable: boolean(data.nullable, `${where}.nullable`),
    primaryKey: boolean(data.primary_key, `${where}.primary_key`),
    length: data.length === null || data.length === undefined ? null : count(data.length, `${where}.length`),
    doc: data.doc === undefined ? "" : string(data.doc, `${where}.doc`),
  };
}

function entity(value: unknown, where: string): EntityConfig {
  const data = object(value, where);
  return {
    name: string(data.name, `${where}.name`),
    table: string(data.table, `${where}.table`),
    kind: oneOf(data.kind, ENTITY_KINDS, `${where}.kind`),
    idColumn: string(data.id_column, `${where}.id_column`),
    color: string(data.color, `${where}.color`),
    icon: string(data.icon, `${where}.icon`),
    doc: data.doc === undefined ? "" : string(data.doc, `${where}.doc`),
    columns: array(data.columns, `${where}.columns`).map((item, index) => column(item, `${where}.columns[${index}]`)),
    displayFields: array(data.display_fields, `${where}.display_fields`).map((item, index) =>
      string(item, `${where}.display_fields[${index}]`),
    ),
    maxRecords: count(data.max_records, `${where}.max_records`),
    eventTypes: array(data.event_types, `${where}.event_types`).map((item, index) =>
      oneOf(item, EVENT_TYPES, `${where}.event_types[${index}]`),
    ),
  };
}

function features(value: unknown): Features {
  const data = object(value, "features");
  const flag = (key: string) => boolean(data[key], `features.${key}`);
  return {
    statistics: flag("statistics"),
    filters: flag("filters"),
    search: flag("search"),
    pause: flag("pause"),
    autoScroll: flag("auto_scroll"),
    exportCsv: flag("export_csv"),
    darkMode: flag("dark_mode"),
  };
}

/** The body of `GET /api/entities` as the UI's types; throws an Error naming the first bad field. */
export function parseDashboardModel(body: unknown): DashboardModel {
  try {
    const data = object(body, "response");
    return {
      entities: array(data.entities, "entities").map((item, index) => entity(item, `entities[${index}]`)),
      features: features(data.features),
      frontendVersion:
        data.frontend_version === undefined ? "" : string(data.frontend_version, "frontend_version"),
    };
  } catch (error) {
    if (error instanceof ModelError) throw new Error(`/api/entities: ${error.message}`);
    throw error;
  }
}
