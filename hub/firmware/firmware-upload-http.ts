import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import {
  clientGone,
  refuseOversize,
  reply,
  uploadRoute,
  type HttpHandler,
  type UploadRequest,
  type UploadResponse,
} from "../api/upload-route.js";
import { uploadCaller } from "../auth/upload-caller.js";
import { InvalidArgumentError } from "../domain/errors.js";
import type { ImageContentStore } from "../image-content/image-content-store.js";
import type { FirmwareSigningKey } from "./firmware-signing-key.js";
import { uploadFirmwareVersion } from "./upload-firmware-version.js";

export interface FirmwareUploadHttpDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  store: ImageContentStore;
  key: FirmwareSigningKey;
  maxBytes: number;
}

const ROUTE = /^\/v1\/firmware-versions\/([^/]+)\/content$/;
/** Firmware runs on every box of the fleet: only admins upload it. */
const UPLOAD_ROLES = new Set(["admin"]);

function header(req: UploadRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === "string" ? v.trim() : undefined;
}

/**
 * `PUT /v1/firmware-versions/{version}/content` on the admin port, beside Connect and the image
 * upload (same shape: bearer auth, `X-Content-Sha256`, streamed into the content store). Optional
 * `X-Firmware-Models: m1,m2` (empty: every model) and `X-Firmware-Description`. Answers 201 with the
 * version when created, 200 when the same bytes were already that version, else `{code, message,
 * field?, reason?}` with 400, 401, 403, 409 (the version has other bytes) or 413.
 */
export function firmwareUploadRoutes(deps: FirmwareUploadHttpDeps, next: HttpHandler): HttpHandler {
  return uploadRoute(
    { route: ROUTE, what: "firmware", log: deps.log, put: (req, res, v, rid) => put(deps, req, res, v, rid) },
    next,
  );
}

async function put(
  deps: FirmwareUploadHttpDeps,
  req: UploadRequest,
  res: UploadResponse,
  rawVersion: string,
  requestId: string,
) {
  const caller = await uploadCaller(deps, req, requestId, UPLOAD_ROLES, "firmware");
  refuseOversize(req, deps.maxBytes, "Firmware");
  const sha256 = header(req, "x-content-sha256");
  if (!sha256) throw new InvalidArgumentError("X-Content-Sha256", "is required: the file's sha256 in hex");
  const models = (header(req, "x-firmware-models") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const signal = clientGone(res);
  const { version, created } = await uploadFirmwareVersion(
    { knex: deps.knex, clock: deps.clock, store: deps.store, key: deps.key, maxBytes: deps.maxBytes },
    caller,
    {
      // Taken undecoded: a version string has no character that needs escaping.
      version: rawVersion,
      sha256,
      models,
      description: header(req, "x-firmware-description") ?? "",
      body: req,
      signal,
    },
  );
  deps.log.info(
    { requestId, user: caller.principal.username, firmwareVersion: version.version, sha256: version.sha256, created },
    created ? "Firmware version uploaded" : "Firmware upload repeated (unchanged)",
  );
  reply(req, res, created ? 201 : 200, {
    id: version.id,
    version: version.version,
    sha256: version.sha256,
    size_bytes: version.sizeBytes,
    signature: version.signature,
    models: version.models,
    created,
  });
}
