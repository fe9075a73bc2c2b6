import Koa from "koa";
import type { Knex } from "knex";

const HEALTH_TIMEOUT_MS = 2000;

/**
 * Plain HTTP beside the Connect routes: /healthz for load balancers. /metrics is not here: it has a
 * listener of its own (--metrics-listen, hub/observability/metrics-server.ts).
 */
export function createPlainHttpApp(deps: { knex: Knex }): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx) => {
    if (ctx.method !== "GET" && ctx.method !== "HEAD") {
      ctx.status = 404;
      return;
    }
    if (ctx.path === "/healthz") {
      try {
        await Promise.race([
          deps.knex.raw("SELECT 1"),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error("database did not answer in time")), HEALTH_TIMEOUT_MS).unref(),
          ),
        ]);
        ctx.body = { status: "ok", database: "ok" };
      } catch (err) {
        ctx.status = 503;
        ctx.body = { status: "unavailable", database: (err as Error).message };
      }
      return;
    }
    ctx.status = 404;
    ctx.body = { code: "not_found", message: `No route for ${ctx.path}` };
  });
  return app;
}
