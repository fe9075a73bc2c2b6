import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import type { Caller } from "../api/caller.js";
import { recordChange } from "../audit/record-change.js";
import { newId } from "../db/ids.js";
import { FailedPreconditionError, InvalidArgumentError } from "../domain/errors.js";
import { SHA256_HEX, type ImageContentStore } from "../image-content/image-content-store.js";
import { checkFirmwareVersion, checkModels } from "./firmware-rules.js";
import type { FirmwareSigningKey } from "./firmware-signing-key.js";
import { findFirmwareVersion, insertFirmwareVersion, type FirmwareVersion } from "./firmware-version-store.js";

export interface FirmwareUploadDeps {
  knex: Knex;
  clock: Clock;
  store: ImageContentStore;
  key: FirmwareSigningKey;
  maxBytes: number;
}

export interface FirmwareUploadInput {
  version: string;
  sha256: string;
  models: readonly string[];
  description: string;
  body: AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

/** A version string names one file for good: the same bytes again is a no-op, other bytes are refused. */
function assertSameContent(existing: FirmwareVersion | undefined, sha256: string): void {
  if (existing && existing.sha256 !== sha256)
    throw new FailedPreconditionError(
      `Firmware version ${existing.version} already has content ${existing.sha256}; a version never changes (upload a new version instead)`,
      { reason: "FIRMWARE_VERSION_IMMUTABLE", metadata: { firmware_version_id: existing.id, sha256: existing.sha256 } },
    );
}

/**
 * Creates a firmware version from its file: the body streams into the content store (hashed on
 * the way, refused on a digest mismatch or past the size limit, nothing kept then), the hub signs
 * the digest, and the row and its audit entry are written in one transaction.
 */
export async function uploadFirmwareVersion(
  deps: FirmwareUploadDeps,
  caller: Caller,
  input: FirmwareUploadInput,
): Promise<{ version: FirmwareVersion; created: boolean }> {
  const version = checkFirmwareVersion("version", input.version);
  const sha256 = input.sha256.trim().toLowerCase();
  if (!SHA256_HEX.test(sha256)) throw new InvalidArgumentError("sha256", "must be 64 hex digits");
  const models = checkModels("models", input.models);
  if (input.description.length > 4096) throw new InvalidArgumentError("description", "must be at most 4096 characters");
  // Refuse before reading a byte what the locked check below would refuse anyway.
  assertSameContent(await findFirmwareVersion(deps.knex, version), sha256);

  const stored = await deps.store.put(input.body, { sha256, maxBytes: deps.maxBytes }, input.signal);
  if (stored.sizeBytes === 0) throw new InvalidArgumentError("body", "a firmware file cannot be empty");
  const done: Caller = { ...caller, at: deps.clock.now() };
  return deps.knex.transaction(async (trx) => {
    // Serialise uploads of one version string: the partial unique index would refuse the loser anyway.
    await trx.raw("SELECT pg_advisory_xact_lock(hashtext(?))", [`edgehub.firmware_versions:${version}`]);
    const existing = await findFirmwareVersion(trx, version, true);
    assertSameContent(existing, sha256);
    if (existing) return { version: existing, created: false };
    const created = await insertFirmwareVersion(trx, {
      id: newId(),
      version,
      description: input.description,
      sha256,
      sizeBytes: stored.sizeBytes,
      signature: deps.key.signDigest(sha256),
      models,
      createdAt: done.at,
      createdBy: caller.principal.userId,
    });
    await recordChange(trx, done, {
      tenantId: null,
      action: "firmware.upload_version",
      targetType: "firmware_version",
      targetId: created.id,
      after: { version, sha256, sizeBytes: stored.sizeBytes, models },
    });
    return { version: created, created: true };
  });
}
