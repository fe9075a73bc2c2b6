// bench/admin-api: admin API latency on a seeded hub (issue 16). Prints one JSON document on
// stdout, progress on stderr. See README.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { pino } from "pino";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { AuditService } from "../../gen/edgehub/admin/v1/audit_pb.js";
import { UserService } from "../../gen/edgehub/admin/v1/user_pb.js";
import { parseHubConfig } from "../../hub/config.js";
import { openDatabase } from "../../hub/db/database.js";
import { startHub } from "../../hub/hub.js";
import { createScratchDatabase } from "../fleet/scratch-postgres.js";
import { percentile } from "../fleet/percentiles.js";
import { PLAN_TEST_SIZES, RARE, SEED_PASSWORD, seedSkewed } from "../../test/plan/skewed-seed.js";

const { values: flags } = parseArgs({
  options: {
    postgres: { type: "string" },
    "big-tenant-users": { type: "string", default: "50000" },
    "other-tenants": { type: "string", default: "50" },
    "users-per-tenant": { type: "string", default: "1000" },
    "audit-rows": { type: "string", default: "200000" },
    requests: { type: "string", default: "100" },
    concurrency: { type: "string", default: "8" },
    "concurrent-s": { type: "string", default: "5" },
    "burst-logins": { type: "string", default: "60" },
  },
});
const num = (k: keyof typeof flags) => Number(flags[k]);
const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
const stats = (ms: number[]) => ({
  count: ms.length,
  p50: percentile(ms, 50),
  p95: percentile(ms, 95),
  p99: percentile(ms, 99),
  max: percentile(ms, 100),
});

const ADMIN_PASSWORD = "bench-admin-password";
const scratch = flags.postgres ? await createScratchDatabase(flags.postgres) : undefined;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-bench-admin-"));
const database = await openDatabase({ databaseUrl: scratch?.url, dataDir: "memory://", poolMax: 20 });
const config = parseHubConfig(
  ["--data-dir", dataDir, "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--metrics-listen", "none"],
  {
    HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
  },
);
const hub = await startHub(config, { log: pino({ level: "silent" }), database, announce: () => undefined });
try {
  const sizes = {
    ...PLAN_TEST_SIZES,
    bigTenantUsers: num("big-tenant-users"),
    otherTenants: num("other-tenants"),
    usersPerOtherTenant: num("users-per-tenant"),
    auditRows: num("audit-rows"),
  };
  log(`seeding ${JSON.stringify(sizes)}`);
  const seededAt = Date.now();
  const ids = await seedSkewed(database.knex, sizes);
  const seedSeconds = (Date.now() - seededAt) / 1000;
  const midTenant = (await database.knex("tenants").where("name", "tenant-1").first<{ id: string }>("id"))!.id;

  const baseUrl = `http://127.0.0.1:${hub.httpPort}`;
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
  const token = (
    await createClient(AuthService, transport).login({ username: "admin", password: ADMIN_PASSWORD, tenant: "" })
  ).token;
  const authed = <S extends DescService>(s: S): Client<S> =>
    createClient(
      s,
      createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", `Bearer ${token}`);
            return next(req);
          },
        ],
      }),
    );
  const users = authed(UserService);
  const audit = authed(AuditService);
  const auth = createClient(AuthService, transport);

  const calls: Record<string, () => Promise<unknown>> = {
    "ListUsers tenant of 1 user": () => users.listUsers({ pageSize: 50, tenantId: ids.tinyTenant }),
    [`ListUsers tenant of ${sizes.usersPerOtherTenant} users, first page`]: () =>
      users.listUsers({ pageSize: 50, tenantId: midTenant }),
    [`ListUsers tenant of ${sizes.bigTenantUsers} users, first page`]: () =>
      users.listUsers({ pageSize: 50, tenantId: ids.bigTenant }),
    "ListUsers rare username_contains": () => users.listUsers({ pageSize: 50, usernameContains: RARE }),
    "ListUsers rare username_contains in the big tenant": () =>
      users.listUsers({ pageSize: 50, tenantId: ids.bigTenant, usernameContains: RARE }),
    "ListAuditLog tenant of 1 row": () => audit.listAuditLog({ pageSize: 50, tenantId: ids.tinyTenant }),
    GetUser: () => users.getUser({ id: ids.bigUser }),
  };
  const login = () => auth.login({ username: `big-${RARE}`, password: SEED_PASSWORD, tenant: "" });

  const timed = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };

  log("sequential");
  const sequential: Record<string, ReturnType<typeof stats>> = {};
  for (const [name, fn] of Object.entries(calls)) {
    await fn(); // warm
    const ms: number[] = [];
    for (let i = 0; i < num("requests"); i++) ms.push(await timed(fn));
    sequential[name] = stats(ms);
  }
  const loginMs: number[] = [];
  for (let i = 0; i < 10; i++) loginMs.push(await timed(login));
  sequential["Login (no tenant)"] = stats(loginMs);

  // Concurrent: `concurrency` loops, each cycling through the calls, for a window; optionally with a login burst.
  const names = Object.keys(calls);
  async function mixed(
    seconds: number,
    during?: () => Promise<void>,
  ): Promise<{
    perCall: Record<string, ReturnType<typeof stats>>;
    all: ReturnType<typeof stats>;
    window?: { ms: number; otherCalls: ReturnType<typeof stats> };
  }> {
    const samples: Record<string, { at: number; ms: number }[]> = Object.fromEntries(names.map((n) => [n, []]));
    const until = Date.now() + seconds * 1000;
    const loops = Array.from({ length: num("concurrency") }, async (_v, w) => {
      for (let i = w; Date.now() < until; i++) {
        const name = names[i % names.length]!;
        const at = performance.now();
        samples[name]!.push({ at, ms: await timed(calls[name]!) });
      }
    });
    let window: { from: number; to: number } | undefined;
    if (during) {
      await new Promise((r) => setTimeout(r, 500));
      const from = performance.now();
      await during();
      window = { from, to: performance.now() };
    }
    await Promise.all(loops);
    const all = Object.values(samples).flat();
    return {
      perCall: Object.fromEntries(names.map((n) => [n, stats(samples[n]!.map((x) => x.ms))])),
      all: stats(all.map((x) => x.ms)),
      ...(window
        ? {
            window: {
              ms: window.to - window.from,
              otherCalls: stats(all.filter((x) => x.at >= window!.from && x.at < window!.to).map((x) => x.ms)),
            },
          }
        : {}),
    };
  }
  log("concurrent");
  const concurrent = await mixed(num("concurrent-s"));
  log("login burst");
  const burst = await mixed(num("concurrent-s"), async () => {
    await Promise.all(Array.from({ length: num("burst-logins") }, () => login().catch(() => undefined)));
  });

  console.log(
    JSON.stringify(
      {
        backend: database.kind,
        cpus: os.availableParallelism(),
        loadAverage: os.loadavg().map((v) => Math.round(v * 10) / 10),
        seed: sizes,
        seedSeconds,
        sequentialMs: sequential,
        concurrentMs: {
          concurrency: num("concurrency"),
          seconds: num("concurrent-s"),
          all: concurrent.all,
          perCall: concurrent.perCall,
        },
        loginBurst: {
          logins: num("burst-logins"),
          burstMs: burst.window?.ms,
          otherCallsDuringBurstMs: burst.window?.otherCalls,
          otherCallsWithoutBurstMs: concurrent.all,
        },
      },
      null,
      2,
    ),
  );
} finally {
  await hub.stop();
  await database.close().catch(() => undefined);
  await scratch?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
