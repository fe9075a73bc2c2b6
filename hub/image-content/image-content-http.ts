import type http from "node:http";
import type http2 from "node:http2";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import type { Caller } from "../api/caller.js";
import { isUuid } from "../api/resource-id.js";
import { resolveToken } from "../auth/token-store.js";
import { newId } from "../db/ids.js";
import {
  DomainError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
} from "../domain/errors.js";
import type { ImageContentStore } from "./image-content-store.js";
import { uploadVersionContent } from "./upload-version-content.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;
type Handler = (req: Request, res: Response) => void;

export interface ImageContentHttpDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  store: ImageContentStore;
  /** Largest image accepted, in bytes (--image-max-bytes). */
  maxBytes: number;
}

const ROUTE = /^\/v1\/image-versions\/([^/]+)\/content$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Who may upload: the roles of PublishImageVersion; the image's own rule (canManageCatalogItem) follows. */
const UPLOAD_ROLES = new Set(["admin", "tenant_admin"]);

const STATUS: Record<DomainError["code"], number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 409,
  aborted: 409,
  resource_exhausted: 413,
};

/** The declared sha256: `X-Content-Sha256: <hex>` or RFC 3230 `Digest: sha-256=<base64>`. */
function declaredSha256(req: Request): string {
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
export function imageContentRoutes(deps: ImageContentHttpDeps, next: Handler): Handler {
  return (req, res) => {
    const m = ROUTE.exec((req.url ?? "").split("?")[0]!);
    if (!m) return next(req, res);
    const offered = req.headers["x-request-id"];
    const requestId = typeof offered === "string" && REQUEST_ID.test(offered) ? offered : newId();
    res.setHeader("x-request-id", requestId);
    handle(deps, req, res, m[1]!, requestId).catch((err) => {
      if (!(err instanceof DomainError)) deps.log.error({ err, requestId }, "Image content upload failed unexpectedly");
      reply(req, res, err instanceof DomainError ? STATUS[err.code] : 500, errorBody(err, requestId));
    });
  };
}

async function handle(deps: ImageContentHttpDeps, req: Request, res: Response, versionId: string, requestId: string) {
  if (req.method !== "PUT") {
    res.setHeader("Allow", "PUT");
    reply(req, res, 405, { code: "method_not_allowed", message: `${req.method} is not allowed here; use PUT` });
    return;
  }
  const auth = req.headers.authorization;
  const token = typeof auth === "string" ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
  if (!token)
    throw new UnauthenticatedError("Unauthenticated: this route needs a bearer token (Authorization: Bearer …)");
  const now = deps.clock.now();
  const resolved = await resolveToken(deps.knex, token, now);
  if (!resolved) throw new UnauthenticatedError("Unauthenticated: the bearer token is unknown, expired or revoked");
  if (!UPLOAD_ROLES.has(resolved.principal.role))
    throw new PermissionDeniedError(`Permission denied: role ${resolved.principal.role} may not upload image content`);
  // Version ids are UUIDs, taken undecoded: anything else (percent-escapes included) names no version.
  if (!isUuid(versionId)) throw new NotFoundError("image version", versionId.slice(0, 64));
  const length = req.headers["content-length"];
  if (length !== undefined && Number(length) > deps.maxBytes)
    throw new ResourceExhaustedError(
      `Image content of ${length} bytes is larger than the limit of ${deps.maxBytes} bytes`,
      {
        reason: "CONTENT_TOO_LARGE",
        metadata: { max_bytes: String(deps.maxBytes) },
      },
    );
  const format = req.headers["x-content-format"];
  if (typeof format !== "string") throw new InvalidArgumentError("X-Content-Format", "is required: qcow2 or raw");
  const caller: Caller = { principal: resolved.principal, requestId, at: now };
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort(new Error("the client went away"));
  });
  const { content, created } = await uploadVersionContent(
    { knex: deps.knex, clock: deps.clock, store: deps.store, maxBytes: deps.maxBytes },
    caller,
    { versionId, sha256: declaredSha256(req), format: format.trim(), body: req, signal: abort.signal },
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

function errorBody(err: unknown, requestId: string): Record<string, unknown> {
  if (!(err instanceof DomainError)) return { code: "internal", message: `Internal error (request id ${requestId})` };
  const body: Record<string, unknown> = { code: err.code, message: err.message };
  if (err instanceof InvalidArgumentError) body.field = err.field;
  if ("reason" in err && typeof err.reason === "string") body.reason = err.reason;
  if ("metadata" in err) body.metadata = err.metadata;
  return body;
}

function reply(req: Request, res: Response, status: number, body: Record<string, unknown>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  // A refused upload may still be sending gigabytes: close the HTTP/1.1 connection instead of draining it.
  const unread = !req.readableEnded && "httpVersionMajor" in req && req.httpVersionMajor === 1;
  if (status >= 400 && unread) res.setHeader("Connection", "close");
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(body));
}
