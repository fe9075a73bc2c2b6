import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import { isUuid } from "../api/resource-id.js";
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
import { InvalidArgumentError, NotFoundError } from "../domain/errors.js";
import type { ImageContentStore } from "./image-content-store.js";
import { uploadVersionContent } from "./upload-version-content.js";

export interface ImageContentHttpDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  store: ImageContentStore;
  /** Largest image accepted, in bytes (--image-max-bytes). */
  maxBytes: number;
}

const ROUTE = /^\/v1\/image-versions\/([^/]+)\/content$/;
/** Who may upload: the roles of PublishImageVersion; the image's own rule (canManageCatalogItem) follows. */
const UPLOAD_ROLES = new Set(["admin", "tenant_admin"]);

/** The declared sha256: `X-Content-Sha256: <hex>` or RFC 3230 `Digest: sha-256=<base64>`. */
function declaredSha256(req: UploadRequest): string {
  const hex = req.headers["x-content-sha256"];
  if (typeof hex === "string" && hex.trim() !== "") return hex.trim().toLowerCase();
  const digest = req.headers["digest"];
  if (typeof digest === "string") {
    for (const part of digest.split(",")) {
      const m = /^\s*sha-256=([A-Za-z0-9+/=]+)\s*$/i.exec(part);
      if (m) return Buffer.from(m[1]!, "base64").toString("hex");
    }
  }
  throw new InvalidArgumentError("X-Content-Sha256", "is required (or Digest: sha-256=<base64>)");
}

/**
 * `PUT /v1/image-versions/{id}/content` on the admin port, beside Connect (which cannot stream a
 * multi-GiB body into a file): bearer auth as on the admin API, then uploadVersionContent. Answers
 * JSON: 201 with the content when stored, 200 when it was already there, else `{code, message,
 * reason?, field?}` with 400 (bad header, digest or format mismatch), 401, 403, 404, 409 (content
 * already set to other bytes, version archived) or 413 (over --image-max-bytes). Other paths go to `next`.
 */
export function imageContentRoutes(deps: ImageContentHttpDeps, next: HttpHandler): HttpHandler {
  return uploadRoute(
    { route: ROUTE, what: "image content", log: deps.log, put: (req, res, id, rid) => put(deps, req, res, id, rid) },
    next,
  );
}

async function put(
  deps: ImageContentHttpDeps,
  req: UploadRequest,
  res: UploadResponse,
  versionId: string,
  requestId: string,
) {
  const caller = await uploadCaller(deps, req, requestId, UPLOAD_ROLES, "image content");
  // Version ids are UUIDs, taken undecoded: anything else (percent-escapes included) names no version.
  if (!isUuid(versionId)) throw new NotFoundError("image version", versionId.slice(0, 64));
  refuseOversize(req, deps.maxBytes, "Image content");
  const format = req.headers["x-content-format"];
  if (typeof format !== "string") throw new InvalidArgumentError("X-Content-Format", "is required: qcow2 or raw");
  const signal = clientGone(res);
  const { content, created } = await uploadVersionContent(
    { knex: deps.knex, clock: deps.clock, store: deps.store, maxBytes: deps.maxBytes },
    caller,
    { versionId, sha256: declaredSha256(req), format: format.trim(), body: req, signal },
  );
  deps.log.info(
    { requestId, user: caller.principal.username, imageVersion: versionId, sha256: content.sha256, created },
    created ? "Image content uploaded" : "Image content upload repeated (unchanged)",
  );
  reply(req, res, created ? 201 : 200, {
    image_version_id: versionId,
    content_sha256: content.sha256,
    content_size_bytes: content.sizeBytes,
    content_format: content.format,
    content_upload_time: content.uploadedAt.toISOString(),
    created,
  });
}
