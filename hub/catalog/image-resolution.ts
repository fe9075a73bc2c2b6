import type { Knex } from "knex";
import type { Principal } from "../api/principal.js";
import { FailedPreconditionError, NotFoundError } from "../domain/errors.js";
import type { Image, ImageVersion } from "./image.js";
import {
  ImageRequirementsNotMetError,
  requirementShortfalls,
  type ImageRequirements,
  type InstanceSpec,
  type RequirementShortfall,
} from "./image-requirements.js";
import { getImageRequirements } from "./image-requirements-store.js";
import { getImage, findVisibleImageByName } from "./image-store.js";
import { parseImageReference } from "./image-tag-rules.js";
import { findTag } from "./image-tag-store.js";
import { getImageVersion } from "./image-version-store.js";

/**
 * ResolveImage("name:tag") → the version the tag points at (000 §6.4.2 "用户引用方式"), among the
 * images `p` may see. The version is returned whatever its status: creating an instance from it is
 * checked separately (checkImageVersionForInstance), so a deprecated version tag still resolves.
 */
export async function resolveImageReference(
  knex: Knex,
  p: Principal,
  reference: string,
): Promise<{ image: Image; version: ImageVersion; tag: string }> {
  const { imageName, tag } = parseImageReference("reference", reference);
  const image = await findVisibleImageByName(knex, imageName, p);
  if (!image) throw new NotFoundError("image", imageName);
  const found = await findTag(knex, image.id, tag);
  if (!found) throw new NotFoundError("image tag", `${imageName}:${tag}`);
  return { image, version: await getImageVersion(knex, found.versionId), tag };
}

export interface RequirementsVerdict {
  image: Image;
  version: ImageVersion;
  requirements: ImageRequirements;
  /** Empty when `spec` meets every requirement. */
  shortfalls: RequirementShortfall[];
}

/**
 * CheckImageRequirements' answer (000 §9.2): the version must exist; for a new instance it (and
 * its image) must be active (else failed_precondition VERSION_NOT_ACTIVE / IMAGE_NOT_ACTIVE);
 * then every dimension in which `spec` falls short of the image's minimum, as a result.
 */
export async function imageRequirementsVerdict(
  knex: Knex,
  imageVersionId: string,
  spec: InstanceSpec,
  options: { newInstance: boolean },
): Promise<RequirementsVerdict> {
  const version = await getImageVersion(knex, imageVersionId);
  const image = await getImage(knex, version.imageId);
  if (options.newInstance && version.status !== "active") {
    throw new FailedPreconditionError(
      `Cannot create an instance from image ${image.name} ${version.versionNumber}: the version is ${version.status}`,
      {
        reason: "VERSION_NOT_ACTIVE",
        metadata: { image_version_id: version.id, status: version.status },
      },
    );
  }
  if (options.newInstance && image.status !== "active") {
    throw new FailedPreconditionError(
      `Cannot create an instance from image ${image.name}: the image is ${image.status}`,
      {
        reason: "IMAGE_NOT_ACTIVE",
        metadata: { image_id: image.id, status: image.status },
      },
    );
  }
  const requirements = await getImageRequirements(knex, image.id);
  return { image, version, requirements, shortfalls: requirementShortfalls(spec, requirements) };
}

/**
 * The check other issues call before creating an instance, resizing it or changing its image:
 * imageRequirementsVerdict, with any shortfall refused as ImageRequirementsNotMetError
 * (failed_precondition IMAGE_REQUIREMENTS_NOT_MET with a RequirementsNotMet detail).
 */
export async function checkImageVersionForInstance(
  knex: Knex,
  imageVersionId: string,
  spec: InstanceSpec,
  options: { newInstance: boolean },
): Promise<{ image: Image; version: ImageVersion }> {
  const { image, version, shortfalls } = await imageRequirementsVerdict(knex, imageVersionId, spec, options);
  if (shortfalls.length > 0)
    throw new ImageRequirementsNotMetError(`${image.name} ${version.versionNumber}`, shortfalls, version.id);
  return { image, version };
}
