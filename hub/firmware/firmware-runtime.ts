import path from "node:path";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import type { AgentEndpointService } from "../fleet/agent-endpoint.js";
import type { CaSubject } from "../fleet/agent-identity.js";
import { ADVISORY_LOCK_KEYS } from "../db/advisory-lock-keys.js";
import { DirectoryImageContentStore } from "../image-content/directory-image-content-store.js";
import { firmwareContentService } from "./firmware-content-grpc.js";
import { startFirmwareRolloutLoop } from "./firmware-rollout-loop.js";
import { loadOrCreateFirmwareKey, type FirmwareSigningKey } from "./firmware-signing-key.js";
import { firmwareUploadRoutes } from "./firmware-upload-http.js";

type Handler = Parameters<typeof firmwareUploadRoutes>[1];

/** Largest firmware file accepted (a box image is tens to hundreds of MiB). */
export const FIRMWARE_MAX_BYTES = 1024 * 1024 * 1024;
/** How often the rollout loop reads finished install commands. */
const ROLLOUT_LOOP_INTERVAL_MS = 1000;

export interface FirmwareRuntime {
  readonly key: FirmwareSigningKey;
  /** The upload route in front of `next` on the admin port. */
  uploadRoutes(next: Handler): Handler;
  /** FirmwareContentService for the agent endpoint. */
  contentService(caSubject: CaSubject): AgentEndpointService;
  stop(): Promise<void>;
}

/**
 * Everything the hub runs for firmware (hub/firmware/README.md): the signing key (created at first
 * start), the content store under `<data dir>/firmware`, the upload route, the boxes' fetch service
 * and the loop that records rollout outcomes.
 */
export async function startFirmware(deps: {
  knex: Knex;
  clock: Clock;
  log: Logger;
  dataDir: string;
}): Promise<FirmwareRuntime> {
  const log = deps.log.child({ component: "firmware" });
  const { key, created } = await loadOrCreateFirmwareKey(deps.knex, deps.clock.now());
  if (created) log.info({ fingerprint: key.fingerprint }, "Firmware signing key created");
  const store = await DirectoryImageContentStore.open(path.join(deps.dataDir, "firmware"));
  const loop = startFirmwareRolloutLoop({
    knex: deps.knex,
    clock: deps.clock,
    log,
    lockKey: ADVISORY_LOCK_KEYS.firmwareRollouts,
    intervalMs: ROLLOUT_LOOP_INTERVAL_MS,
  });
  return {
    key,
    uploadRoutes: (next) =>
      firmwareUploadRoutes({ knex: deps.knex, clock: deps.clock, log, store, key, maxBytes: FIRMWARE_MAX_BYTES }, next),
    contentService: (caSubject) =>
      firmwareContentService({ knex: deps.knex, caSubject, clock: deps.clock, log, store, key }),
    stop: () => loop.stop(),
  };
}
