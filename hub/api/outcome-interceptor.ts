import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { newId } from "../db/ids.js";
import type { HubMetrics } from "../observability/hub-metrics.js";
import { DomainError } from "../domain/errors.js";
import { toConnectError } from "./connect-errors.js";
import { requestIdKey } from "./request-context.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Outermost interceptor: assigns the request id, maps domain and database errors to Connect
 * codes, logs unexpected failures once, and records API latency by method and code.
 */
export function outcomeInterceptor(deps: { log: Logger; metrics: HubMetrics }): Interceptor {
  return (next) => async (req) => {
    const offered = req.header.get("x-request-id");
    const requestId = offered && REQUEST_ID.test(offered) ? offered : newId();
    req.contextValues.set(requestIdKey, requestId);
    const method = `${req.method.parent.typeName}/${req.method.name}`;
    const stopTimer = deps.metrics.apiRequestSeconds.startTimer({ method });
    try {
      const res = await next(req);
      res.header.set("x-request-id", requestId);
      stopTimer({ code: "ok" });
      return res;
    } catch (err) {
      let connectError = toConnectError(err);
      if (!connectError) {
        deps.log.error({ err, method, requestId }, "Admin API call failed unexpectedly");
        connectError = new ConnectError(
          `Internal error (request id ${requestId})`,
          Code.Internal,
          undefined,
          undefined,
          err,
        );
      } else if (!(err instanceof DomainError) && !(err instanceof ConnectError)) {
        // A database error the store did not translate: the client got a plain message; the detail
        // (SQL, constraint, server text) stays here, findable by request id.
        deps.log.warn(
          { err, method, requestId, code: Code[connectError.code] },
          "Admin API call failed in the database",
        );
      }
      connectError.metadata.set("x-request-id", requestId);
      stopTimer({ code: Code[connectError.code] ?? String(connectError.code) });
      throw connectError;
    }
  };
}
