import type http from "node:http";
import type http2 from "node:http2";
import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Clock } from "../../lib/clock/clock.js";
import type { Caller } from "../api/caller.js";
import { resolveToken } from "../auth/token-store.js";
import { newId } from "../db/ids.js";
import {
  DomainError,
  InvalidArgumentError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
} from "../domain/errors.js";
import type { ImageContentStore } from "../image-content/image-content-store.js";
import type { FirmwareSigningKey } from "./firmware-signing-key.js";
import { uploadFirmwareVersion } from "./upload-firmware-version.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;
type Handler = (req: Request, res: Response) => void;

export interface FirmwareUploadHttpDeps {
  knex: Knex;
  clock: Clock;
  log: Logger;
  store: ImageContentStore;
  key: FirmwareSigningKey;
  maxBytes: number;
}

const ROUTE = /^\/v1\/firmware-versions\/([^/]+)\/content$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Firmware runs on every box of the fleet: only admins upload it. */
const UPLOAD_ROLES = new Set(["admin"]);

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

function header(req: Request, name: string): string | undefined {
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
export function firmwareUploadRoutes(deps: FirmwareUploadHttpDeps, next: Handler): Handler {
  return (req, res) => {
    const m = ROUTE.exec((req.url ?? "").split("?")[0]!);
    if (!m) return next(req, res);
    const offered = req.headers["x-request-id"];
    const requestId = typeof offered === "string" && REQUEST_ID.test(offered) ? offered : newId();
    res.setHeader("x-request-id", requestId);
    handle(deps, req, res, m[1]!, requestId).catch((err) => {
      if (!(err instanceof DomainError)) deps.log.error({ err, requestId }, "Firmware upload failed unexpectedly");
      reply(req, res, err instanceof DomainError ? STATUS[err.code] : 500, errorBody(err, requestId));
    });
  };
}

async function handle(
  deps: FirmwareUploadHttpDeps,
  req: Request,
  res: Response,
  rawVersion: string,
  requestId: string,
) {
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
    throw new PermissionDeniedError(`Permission denied: role ${resolved.principal.role} may not upload firmware`);
  const length = req.headers["content-length"];
  if (length !== undefined && Number(length) > deps.maxBytes)
    throw new ResourceExhaustedError(`Firmware of ${length} bytes is larger than the limit of ${deps.maxBytes} bytes`, {
      reason: "CONTENT_TOO_LARGE",
      metadata: { max_bytes: String(deps.maxBytes) },
    });
  const sha256 = header(req, "x-content-sha256");
  if (!sha256) throw new InvalidArgumentError("X-Content-Sha256", "is required: the file's sha256 in hex");
  const models = (header(req, "x-firmware-models") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const caller: Caller = { principal: resolved.principal, requestId, at: now };
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort(new Error("the client went away"));
  });
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
      signal: abort.signal,
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
  // A refused upload may still be sending: close the HTTP/1.1 connection instead of draining it.
  const unread = !req.readableEnded && "httpVersionMajor" in req && req.httpVersionMajor === 1;
  if (status >= 400 && unread) res.setHeader("Connection", "close");
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(body));
}
