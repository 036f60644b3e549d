/** The columns a table shows for an entity: its display fields, in their order, that name a column. */

import type { ColumnConfig, EntityConfig } from "./types";

const computed = new WeakMap<EntityConfig, readonly ColumnConfig[]>();

/**
 * Computed once per entity: the same array on every call, so memoized rows
 * that receive it skip re-rendering.
 */
export function displayColumns(entity: EntityConfig): readonly ColumnConfig[] {
  let columns = computed.get(entity);
  if (columns === undefined) {
    const byName = new Map(entity.columns.map((column) => [column.name, column]));
    columns = entity.displayFields
      .map((name) => byName.get(name))
      .filter((column): column is ColumnConfig => column !== undefined);
    computed.set(entity, columns);
  }
  return columns;
}
