import { expect } from "chai";
import { create, ScalarType, type DescField, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { Knex } from "knex";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { PolicyRegistry } from "../../hub/api/method-policy.js";
import { registerServices } from "../../hub/services.js";
import type { ServiceDeps } from "../../hub/service-deps.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { RARE, SEED_PASSWORD, seedSkewed, type SeededIds } from "./skewed-seed.js";
import { explainCaptured, readBound, type PlanReading } from "./plan-reading.js";

// Issue 16: every List/Get/search the admin API answers reads rows in proportion to its answer,
// on a database seeded with skew (a tenant with 1 user beside one with 50 000, a group with 1
// member beside one with 5 000, commands piled on one agent). The services are the ones
// hub/services.ts registers; their List and Get methods are called through the real API with
// filter values generated from the request descriptors, the SQL the hub runs is captured from
// knex and each SELECT is run again under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON).

const PAGE_SIZE = 20;

/** The services registerServices wires, read off a router that only records them. */
function registeredServices(): DescService[] {
  const services: DescService[] = [];
  const router = { service: (s: DescService) => services.push(s) } as unknown as ConnectRouter;
  registerServices(router, new PolicyRegistry(), new Proxy({}, { get: () => undefined }) as ServiceDeps);
  return services;
}

/** Values to try for a request field, by the field's name and type; empty: left unset. */
function candidates(method: DescMethod, field: DescField, ids: SeededIds, now: Date): unknown[] {
  const name = field.name;
  if (field.fieldKind === "enum") return field.enum.values.filter((v) => v.number !== 0).map((v) => v.number);
  if (field.fieldKind === "message" && field.message.typeName === "google.protobuf.Timestamp") {
    return name.startsWith("until") || name.startsWith("before")
      ? [timestampFromDate(new Date(now.getTime() - 3600_000))]
      : [timestampFromDate(new Date(now.getTime() - 60_000))];
  }
  if (field.fieldKind !== "scalar") return [];
  if (field.scalar === ScalarType.BOOL) return [true, false];
  if (field.scalar !== ScalarType.STRING) return [];
  if (name.endsWith("_contains")) return [RARE, "user-"];
  const byName: Record<string, string[]> = {
    tenant_id: [ids.tinyTenant, ids.bigTenant],
    user_id: [ids.tinyUser, ids.bigUser],
    actor_user_id: [ids.tinyUser, ids.bigUser],
    member_user_id: [ids.bigUser],
    owner_id: [ids.tinyUser, ids.bigUser],
    group_id: [ids.tinyGroup, ids.bigGroup],
    parent_group_id: [ids.tinyGroup, ids.bigGroup],
    agent_id: [ids.tinyAgent, ids.bigAgent],
    image_id: [ids.image],
    base_image_id: [ids.image],
    template_id: [ids.template],
    command_id: [ids.command],
    target_id: [ids.tinyUser],
    base_os: ["rareos", "ubuntu"],
    action: ["user.delete", "user.create"],
    target_type: ["user_group", "user"],
  };
  if (name === "id") {
    const resource = method.name.replace(/^Get/, "");
    const byResource: Record<string, string[]> = {
      Tenant: [ids.tinyTenant, ids.bigTenant],
      User: [ids.tinyUser, ids.bigUser],
      UserGroup: [ids.tinyGroup, ids.bigGroup],
      Image: [ids.image],
      Template: [ids.template],
      Agent: [ids.tinyAgent, ids.bigAgent],
      Command: [ids.command],
    };
    return byResource[resource] ?? [];
  }
  return byName[name] ?? [];
}

type Request = Record<string, unknown>;

interface Call {
  request: Request;
  readings: PlanReading[];
}

describe("list and search plans read in proportion to their answers (issue 16)", function () {
  this.timeout(600_000);
  let t: TestHub;
  let knex: Knex;
  let ids: SeededIds;
  let token: string;
  const captured: { sql: string; bindings: readonly unknown[] }[] = [];
  const capture = (q: { sql?: string; bindings?: readonly unknown[] }) => {
    if (q.sql && /^\s*(select|with)\b/i.test(q.sql) && !/\bfor (no key )?update\b/i.test(q.sql))
      captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };

  before(async () => {
    t = await startTestHub();
    knex = t.database.db.knex;
    const started = Date.now();
    ids = await seedSkewed(knex);
    console.log(`      seeded in ${Date.now() - started} ms (${t.database.backend})`);
    token = await t.adminToken();
    knex.on("query", capture);
  });

  after(async () => {
    knex?.off("query", capture);
    await t?.stop();
  });

  /** Calls `method` with `request`, filling fields the service says are required; the SELECTs it ran, explained. */
  async function callAndExplain(
    service: DescService,
    method: DescMethod,
    request: Request,
  ): Promise<{ call?: Call; response?: Record<string, unknown> }> {
    const client = t.client(service, token) as unknown as Record<
      string,
      (req: unknown) => Promise<Record<string, unknown>>
    >;
    let req = { ...request };
    for (let attempt = 0; attempt < 4; attempt++) {
      captured.length = 0;
      try {
        const response = await client[method.localName]!(create(method.input, req as never));
        const statements = captured.splice(0);
        // A substring search is held to its matches: the trigram index yields them unordered and
        // a page is sorted from all of them (a rare substring: a few rows; a common one: the id
        // order is walked instead). Other filters are held to the page.
        const search = Object.keys(req).some((k) => k.endsWith("Contains"));
        return {
          call: { request: req, readings: await explainCaptured(knex, statements, { unpaged: search }) },
          response,
        };
      } catch (err) {
        const e = ConnectError.from(err);
        if (e.code !== Code.InvalidArgument) return {};
        const missing = e
          .findDetails(BadRequestSchema)
          .flatMap((d) => d.fieldViolations.map((v) => v.field))
          .map((f) => method.input.fields.find((x) => x.name === f))
          .find((f) => f !== undefined && req[f.localName] === undefined);
        const value = missing ? candidates(method, missing, ids, new Date())[0] : undefined;
        if (!missing || value === undefined) return {};
        req = { ...req, [missing.localName]: value };
      }
    }
    return {};
  }

  /** Every request to try: no filter, each filter value alone, each with each tenant; then their second pages. */
  function requestsFor(method: DescMethod): Request[] {
    const now = new Date();
    const base: Request = {};
    const sizeField = method.input.fields.find((f) => f.name === "page_size");
    if (sizeField) base[sizeField.localName] = PAGE_SIZE;
    const filters = method.input.fields
      .filter((f) => f.name !== "page_size" && f.name !== "page_token")
      .map((f) => ({ field: f, values: candidates(method, f, ids, now) }))
      .filter((f) => f.values.length > 0);
    const requests: Request[] = [base];
    for (const f of filters) for (const v of f.values) requests.push({ ...base, [f.field.localName]: v });
    const tenant = filters.find((f) => f.field.name === "tenant_id");
    if (tenant) {
      for (const tv of tenant.values) {
        for (const f of filters)
          if (f !== tenant)
            for (const v of f.values) requests.push({ ...base, [tenant.field.localName]: tv, [f.field.localName]: v });
      }
    }
    return requests;
  }

  const services = registeredServices();
  for (const service of services) {
    for (const method of service.methods) {
      if (!/^(List|Get)/.test(method.name) || method.methodKind !== "unary") continue;
      it(`${service.name}.${method.name}`, async () => {
        const violations: string[] = [];
        let calls = 0;
        let worst = { read: 0, returned: 0 };
        for (const request of requestsFor(method)) {
          const first = await callAndExplain(service, method, request);
          const pages = [first];
          const next = first.response?.nextPageToken;
          if (typeof next === "string" && next !== "")
            pages.push(await callAndExplain(service, method, { ...first.call!.request, pageToken: next }));
          for (const { call } of pages) {
            if (!call) continue;
            calls++;
            for (const r of call.readings) {
              if (r.read > worst.read) worst = { read: r.read, returned: r.returned };
              const bound = readBound(Math.max(r.returned, r.matches ?? 0), r.sql);
              if (r.read > bound) {
                violations.push(
                  `${JSON.stringify(call.request, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}: read ${r.read} rows for ${r.returned} (bound ${bound}, ${r.buffers} buffers): …${r.sql.slice(r.sql.indexOf(" from "))}`,
                );
              }
            }
          }
        }
        console.log(
          `        ${calls} calls; most rows read by one statement: ${worst.read} for ${worst.returned} returned`,
        );
        expect(
          violations.length,
          `${violations.length} statements read beyond their bound:\n${violations.slice(0, 8).join("\n")}`,
        ).to.equal(0);
      });
    }
  }

  it("the queries of issue 16: ListUsers of a 1-user tenant, a rare username_contains in a 50 000-user tenant, a mid-frequency one", async () => {
    const { UserService } = await import("../../gen/edgehub/admin/v1/user_pb.js");
    const method = UserService.method.listUsers;
    const cases: [string, Request][] = [
      ["1-user tenant", { pageSize: PAGE_SIZE, tenantId: ids.tinyTenant }],
      ["50 000-user tenant, first page", { pageSize: PAGE_SIZE, tenantId: ids.bigTenant }],
      [
        "rare username_contains in the 50 000-user tenant",
        { pageSize: PAGE_SIZE, tenantId: ids.bigTenant, usernameContains: RARE },
      ],
      ["rare username_contains, all tenants", { pageSize: PAGE_SIZE, usernameContains: RARE }],
    ];
    const over: string[] = [];
    for (const [label, request] of cases) {
      const { call } = await callAndExplain(UserService, method, request);
      const list = call!.readings.find((r) => /from "users" as "u"/.test(r.sql))!;
      console.log(`        ${label}: read ${list.read} rows for ${list.returned}, ${list.buffers} buffers`);
      if (list.read > readBound(list.returned, list.sql)) over.push(`${label}: read ${list.read} for ${list.returned}`);
    }
    // A substring in a fifth of the names: the trigram index hands over every match and a page is
    // sorted from them (or the id order is walked until a page is found): bounded by the matches.
    const { call } = await callAndExplain(UserService, method, { pageSize: PAGE_SIZE, usernameContains: "user-1" });
    const mid = call!.readings.find((r) => /from "users" as "u"/.test(r.sql))!;
    const matches = Number(
      (await knex("users").whereRaw("lower(username) LIKE '%user-1%'").whereNull("deleted_at").count({ n: "*" }))[0]!.n,
    );
    console.log(
      `        mid-frequency username_contains (${matches} matches): read ${mid.read} rows for ${mid.returned}`,
    );
    if (mid.read > 2 * matches + readBound(mid.returned))
      over.push(`mid-frequency: read ${mid.read} for ${matches} matches`);
    expect(over).to.deep.equal([]);
  });

  it("Login without a tenant finds the username through an index of its own", async () => {
    captured.length = 0;
    await t.client(AuthService).login({ username: `big-${RARE}`, password: SEED_PASSWORD, tenant: "" });
    const readings = await explainCaptured(knex, captured.splice(0));
    const lookup = readings.find((r) => /lower\(u\.username\)/.test(r.sql));
    expect(lookup, "the login's username lookup was not captured").to.not.equal(undefined);
    const over = readings.filter((r) => r.read > readBound(r.returned, r.sql));
    console.log(`        username lookup: read ${lookup!.read} rows for ${lookup!.returned}`);
    expect(over.map((r) => `read ${r.read} for ${r.returned}: ${r.sql}`)).to.deep.equal([]);
  });
});
