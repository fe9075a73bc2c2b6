import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../domain/errors.js";

/**
 * The paths of an Update's `update_mask` (AIP-134), checked against what the method lets change.
 * The mask is required: an empty one is refused rather than guessed, so a client never overwrites
 * a field it did not mean to. Paths are the proto field names (`display_name`), as Connect JSON
 * accepts them in either spelling and hands them over in snake_case.
 */
export function updatePaths<P extends string>(mask: FieldMask | undefined, updatable: readonly P[]): ReadonlySet<P> {
  const paths = mask?.paths ?? [];
  if (paths.length === 0)
    throw new InvalidArgumentError("update_mask", `must name the fields to change (any of ${updatable.join(", ")})`);
  for (const path of paths) {
    if (!(updatable as readonly string[]).includes(path)) {
      throw new InvalidArgumentError(
        "update_mask",
        `cannot change ${JSON.stringify(path)}; updatable fields are ${updatable.join(", ")}`,
      );
    }
  }
  return new Set(paths as P[]);
}
