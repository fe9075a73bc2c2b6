import { InvalidArgumentError } from "../domain/errors.js";

/** The closed vocabularies of 000 §6.2.1 and §6.4, as the database CHECK constraints spell them. */
export const IMAGE_TYPES = ["os_base", "application_layer", "custom"] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

export const ARCHITECTURES = ["x86_64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const VISIBILITIES = ["public", "private", "group_specific"] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** Status of images, image versions and templates alike. */
export const CATALOG_STATUSES = ["active", "deprecated", "archived"] as const;
export type CatalogStatus = (typeof CATALOG_STATUSES)[number];

export const USE_CASES = [
  "ai_application", "graphics_rendering", "gaming_high_performance", "lightweight_office",
  "web_server", "database", "development", "general",
] as const;
export type UseCase = (typeof USE_CASES)[number];

export const TEMPLATE_TYPES = ["instance", "instance_set"] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

/** Returns `value` typed as one of `allowed`, or throws naming the field and the allowed values. */
export function parseEnum<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgumentError(field, `"${value}" is not one of ${allowed.join(", ")}`);
}

/** Like parseEnum, but an empty string (an unset proto3 field) means "no filter". */
export function parseOptionalEnum<T extends string>(field: string, value: string, allowed: readonly T[]): T | undefined {
  return value === "" ? undefined : parseEnum(field, value, allowed);
}
