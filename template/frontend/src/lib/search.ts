import { fieldValue, plainText } from "./format";
import type { DbEvent, EntityConfig } from "./types";

/** Case-insensitive match of `query` (already lower-cased) in the entity's displayed fields. */
export function matchesSearch(event: DbEvent, entity: EntityConfig, query: string): boolean {
  if (!query) return true;
  if (entity.name.toLowerCase().includes(query) || event.event_type.includes(query)) return true;
  return entity.displayFields.some((field) => plainText(fieldValue(event.data, field)).toLowerCase().includes(query));
}
