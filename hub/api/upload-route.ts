import type http from "node:http";
import type http2 from "node:http2";
import type { Logger } from "pino";
import { newId } from "../db/ids.js";
import { DomainError, InvalidArgumentError, ResourceExhaustedError } from "../domain/errors.js";

// The plain-HTTP upload routes beside Connect on the admin port (image content, firmware): Connect
// cannot stream a multi-GiB body into a file. They share how they find their request id, refuse an
// oversized body before reading it, and answer JSON errors (the bearer check: hub/auth/upload-caller.ts).

export type UploadRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type UploadResponse = http.ServerResponse | http2.Http2ServerResponse;
export type HttpHandler = (req: UploadRequest, res: UploadResponse) => void;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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

export interface UploadRouteOptions {
  route: RegExp;
  /** What the route stores, for log lines ("image content", "firmware"). */
  what: string;
  log: Logger;
  /** Runs for a PUT on the route with the path's first capture; answers through `reply`. */
  put: (req: UploadRequest, res: UploadResponse, captured: string, requestId: string) => Promise<void>;
}

/** Serves `PUT <route>`; other paths go to `next`, other methods get 405, DomainErrors their status. */
export function uploadRoute(o: UploadRouteOptions, next: HttpHandler): HttpHandler {
  return (req, res) => {
    const m = o.route.exec((req.url ?? "").split("?")[0]!);
    if (!m) return next(req, res);
    const offered = req.headers["x-request-id"];
    const requestId = typeof offered === "string" && REQUEST_ID.test(offered) ? offered : newId();
    res.setHeader("x-request-id", requestId);
    if (req.method !== "PUT") {
      res.setHeader("Allow", "PUT");
      reply(req, res, 405, { code: "method_not_allowed", message: `${req.method} is not allowed here; use PUT` });
      return;
    }
    o.put(req, res, m[1]!, requestId).catch((err) => {
      if (!(err instanceof DomainError)) o.log.error({ err, requestId }, `Upload of ${o.what} failed unexpectedly`);
      reply(req, res, err instanceof DomainError ? STATUS[err.code] : 500, errorBody(err, requestId));
    });
  };
}

/** Refuses a declared Content-Length over the limit before a byte is read. */
export function refuseOversize(req: UploadRequest, maxBytes: number, what: string): void {
  const length = req.headers["content-length"];
  if (length !== undefined && Number(length) > maxBytes)
    throw new ResourceExhaustedError(`${what} of ${length} bytes is larger than the limit of ${maxBytes} bytes`, {
      reason: "CONTENT_TOO_LARGE",
      metadata: { max_bytes: String(maxBytes) },
    });
}

/** Aborts when the client goes away before the answer is written (the store then removes its part). */
export function clientGone(res: UploadResponse): AbortSignal {
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort(new Error("the client went away"));
  });
  return abort.signal;
}

export function errorBody(err: unknown, requestId: string): Record<string, unknown> {
  if (!(err instanceof DomainError)) return { code: "internal", message: `Internal error (request id ${requestId})` };
  const body: Record<string, unknown> = { code: err.code, message: err.message };
  if (err instanceof InvalidArgumentError) body.field = err.field;
  if ("reason" in err && typeof err.reason === "string") body.reason = err.reason;
  if ("metadata" in err) body.metadata = err.metadata;
  return body;
}

export function reply(req: UploadRequest, res: UploadResponse, status: number, body: Record<string, unknown>): void {
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
