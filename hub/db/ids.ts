import { v7 as uuidv7 } from "uuid";

/** A new UUIDv7: time-ordered, so primary-key indexes stay local. Made here because PostgreSQL 15 has no uuidv7(). */
export function newId(): string {
  return uuidv7();
}
