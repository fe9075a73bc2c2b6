import type http from "node:http";
import type http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;
type Handler = (req: Request, res: Response) => void;

const ALLOW_METHODS = connectCors.allowedMethods.join(", ");
const ALLOW_HEADERS = [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"].join(", ");
const EXPOSE_HEADERS = [...connectCors.exposedHeaders, "X-Request-Id"].join(", ");
/** Browsers cache a preflight answer this long (2 h, Chromium's cap). */
const PREFLIGHT_MAX_AGE_S = 7200;

/**
 * Lets a browser console on another origin call the admin API: answers preflights and adds the
 * CORS headers for the configured origins only (`--cors-origin`). Requests from other origins get
 * no CORS headers, so the browser refuses them; non-browser clients are unaffected. Bearer tokens
 * travel in a header, not cookies, so credentials are not allowed.
 */
export function withCors(origins: readonly string[], next: Handler): Handler {
  if (origins.length === 0) return next;
  const allowed = new Set(origins);
  return (req, res) => {
    const origin = req.headers.origin;
    if (typeof origin !== "string" || !allowed.has(origin)) return next(req, res);
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Vary", "Origin");
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      res.setHeader("Access-Control-Allow-Methods", ALLOW_METHODS);
      res.setHeader("Access-Control-Allow-Headers", ALLOW_HEADERS);
      res.setHeader("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_S));
      res.statusCode = 204;
      res.end();
      return;
    }
    res.setHeader("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    next(req, res);
  };
}
