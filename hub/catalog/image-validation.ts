import { InvalidArgumentError } from "../domain/errors.js";
import type { ImageFields } from "./image-store.js";

const MD5 = /^[0-9a-f]{32}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function validateImageName(field: string, name: string): string {
  if (name === "") throw new InvalidArgumentError(field, "is required");
  // No ":" — ResolveImage splits "name:tag" on it.
  if (!NAME.test(name))
    throw new InvalidArgumentError(
      field,
      `"${name}" must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  return name;
}

export function validateChecksum(field: string, checksum: string): string {
  if (checksum !== "" && !MD5.test(checksum))
    throw new InvalidArgumentError(field, "must be 32 lower-case hex digits (an MD5 sum)");
  return checksum;
}

export function validateSize(field: string, sizeGb: number): number {
  if (!Number.isFinite(sizeGb) || sizeGb < 0)
    throw new InvalidArgumentError(field, `${sizeGb} must be a non-negative number of GB`);
  return sizeGb;
}

/**
 * Validates image fields a caller supplies (all of them on create, the present ones on update);
 * `prefix` is the request field holding the image. Enum fields arrive typed (catalog-enums.ts).
 */
export function validateImageFields<T extends Partial<ImageFields>>(f: T, prefix = "image."): T {
  if (f.name !== undefined) validateImageName(`${prefix}name`, f.name);
  if (f.sizeGb !== undefined) validateSize(`${prefix}size_gb`, f.sizeGb);
  if (f.checksumMd5 !== undefined) validateChecksum(`${prefix}checksum_md5`, f.checksumMd5);
  if (f.description !== undefined && f.description.length > 4000)
    throw new InvalidArgumentError(`${prefix}description`, "is longer than 4000 characters");
  return f;
}
