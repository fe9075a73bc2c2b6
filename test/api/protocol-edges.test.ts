import { expect } from "chai";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from "../support/test-hub.js";

/** Counts rows of the tables a request could write, to prove a refused request wrote nothing. */
async function writeCounts(t: TestHub): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ["audit_log", "auth_tokens", "users"]) {
    const [row] = await t.hub.db.knex(table).count<{ n: number }[]>({ n: "*" });
    out[table] = Number(row!.n);
  }
  const [u] = await t.hub.db.knex("users").sum<{ s: number }[]>({ s: "failed_login_count" });
  out.failedLogins = Number(u!.s);
  return out;
}

describe("admin API protocol edges", function () {
  let t: TestHub;
  before(async () => {
    t = await startTestHub({ args: ["--max-request-bytes", "2048"] });
  });
  after(async () => t?.stop());

  const post = (path: string, body: string | Uint8Array, contentType = "application/json") =>
    fetch(`${t.baseUrl}${path}`, { method: "POST", headers: { "content-type": contentType }, body });
  const LOGIN = "/edgehub.admin.v1.AuthService/Login";

  it("serves the gRPC protocol over HTTP/2 cleartext on the same port", async () => {
    const client = createClient(AuthService, createGrpcTransport({ baseUrl: t.baseUrl }));
    const res = await client.login({ username: "admin", password: TEST_ADMIN_PASSWORD });
    expect(res.principal?.username).to.equal("admin");
  });

  it("serves the gRPC-web protocol", async () => {
    const client = createClient(AuthService, createGrpcWebTransport({ baseUrl: t.baseUrl, httpVersion: "1.1" }));
    const res = await client.login({ username: "admin", password: TEST_ADMIN_PASSWORD });
    expect(res.token).to.match(/^ehb_/);
  });

  it("malformed JSON → invalid_argument, nothing written", async () => {
    const before = await writeCounts(t);
    const res = await post(LOGIN, '{"username": "admin", "password": ');
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { code: string }).code).to.equal("invalid_argument");
    expect(await writeCounts(t)).to.deep.equal(before);
  });

  it("a field of the wrong type → invalid_argument", async () => {
    const res = await post(LOGIN, '{"username": 42, "password": "x"}');
    expect(((await res.json()) as { code: string }).code).to.equal("invalid_argument");
  });

  it("a wrong content type → 415 Unsupported Media Type, nothing written", async () => {
    const before = await writeCounts(t);
    const res = await post(LOGIN, "username=admin&password=x", "application/x-www-form-urlencoded");
    expect(res.status).to.equal(415);
    expect(await writeCounts(t)).to.deep.equal(before);
  });

  it("an oversized body → resource_exhausted, nothing written", async () => {
    const before = await writeCounts(t);
    const res = await post(LOGIN, JSON.stringify({ username: "admin", password: "x".repeat(10_000) }));
    expect(((await res.json()) as { code: string }).code).to.equal("resource_exhausted");
    expect(await writeCounts(t)).to.deep.equal(before);
  });

  it("an unknown method → 404 (Connect unimplemented), an unknown path → 404", async () => {
    const res = await post("/edgehub.admin.v1.AuthService/Nope", "{}");
    expect(res.status).to.equal(404);
    expect((await fetch(`${t.baseUrl}/nowhere`)).status).to.equal(404);
  });

  it("echoes a request id and returns a generated one otherwise", async () => {
    const res = await fetch(`${t.baseUrl}${LOGIN}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-123" },
      body: JSON.stringify({ username: "admin", password: TEST_ADMIN_PASSWORD }),
    });
    expect(res.headers.get("x-request-id")).to.equal("req-123");
    const err = await post(LOGIN, JSON.stringify({ username: "admin", password: "nope" }));
    expect(err.headers.get("x-request-id")).to.match(/^[0-9a-f-]{36}$/);
    const [row] = await t.hub.db.knex("audit_log").where("request_id", "req-123").select("action");
    expect(row.action).to.equal("auth.login");
  });
});
