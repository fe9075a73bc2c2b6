import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import type { CatalogStatus, TagKind } from "./catalog-enums.js";
import { looksLikeSemver } from "./semver.js";

/**
 * Tags of 000 §6.4.2. System tags are maintained by the hub (and re-pointable by admins), a
 * version tag is created with its version and never moves, custom tags are whatever an owner
 * names (`production`, `golden-image`). All but version tags are mutable.
 */
export const SYSTEM_TAGS = ["latest", "stable", "dev", "lts"] as const;

export const LATEST_TAG = "latest";

/** Lower-case letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 50 (VARCHAR(50) of the spec). */
const TAG_NAME = /^[a-z0-9][a-z0-9._-]*$/;
export const MAX_TAG_NAME = 50;

export function tagKindOf(name: string): TagKind {
  if ((SYSTEM_TAGS as readonly string[]).includes(name)) return "system";
  return looksLikeSemver(name) ? "version" : "custom";
}

/** Validates the syntax of a tag name and says which kind it is (version-shaped names are version tags). */
export function validateTagName(field: string, name: string): TagKind {
  if (name === "") throw new InvalidArgumentError(field, "is required");
  if (name.length > MAX_TAG_NAME)
    throw new InvalidArgumentError(field, `"${name.slice(0, 20)}…" is longer than ${MAX_TAG_NAME} characters`);
  if (!TAG_NAME.test(name)) {
    throw new InvalidArgumentError(
      field,
      `"${name}" may contain only lower-case letters, digits, ".", "_" and "-", and must start with a letter or digit`,
    );
  }
  return tagKindOf(name);
}

/** A version-shaped tag name that no version tag holds yet: version tags come only from publishing. */
export function refuseNewVersionTag(field: string, name: string): never {
  throw new InvalidArgumentError(
    field,
    `"${name}" is a version number; version tags are created by publishing that version and cannot be set`,
  );
}

export interface ExistingTag {
  tagName: string;
  isImmutable: boolean;
  versionId: string;
}

/** Refuses moving (or deleting) an immutable tag; moving it to where it already points is a no-op, not an error. */
export function assertTagMovable(tag: ExistingTag, targetVersionId: string | null): void {
  if (!tag.isImmutable || tag.versionId === targetVersionId) return;
  throw new FailedPreconditionError(
    `Cannot ${targetVersionId === null ? "delete" : "re-point"} tag ${tag.tagName}: version tags are immutable`,
    {
      reason: "TAG_IMMUTABLE",
      metadata: { tag: tag.tagName },
    },
  );
}

/** Mutable tags point only at active versions: a deprecated version may not be reached through them (000 §6.4.3). */
export function assertTagTarget(tagName: string, version: { versionNumber: string; status: CatalogStatus }): void {
  if (version.status !== "active") {
    throw new FailedPreconditionError(
      `Cannot point tag ${tagName} at version ${version.versionNumber}: the version is ${version.status}`,
      {
        reason: "VERSION_NOT_ACTIVE",
        metadata: { version_number: version.versionNumber, status: version.status },
      },
    );
  }
}

/** Splits `name:tag` (tag defaults to `latest`, as in Docker references) for ResolveImage. */
export function parseImageReference(field: string, reference: string): { imageName: string; tag: string } {
  const at = reference.lastIndexOf(":");
  const imageName = at < 0 ? reference : reference.slice(0, at);
  const tag = at < 0 ? LATEST_TAG : reference.slice(at + 1);
  if (imageName.trim() === "")
    throw new InvalidArgumentError(field, `"${reference}" has no image name (expected name:tag)`);
  if (tag === "") throw new InvalidArgumentError(field, `"${reference}" has an empty tag (expected name:tag)`);
  return { imageName, tag };
}
