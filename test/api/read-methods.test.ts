import { expect } from "chai";
import { createConnectRouter } from "@connectrpc/connect";
import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { PolicyRegistry } from "../../hub/api/method-policy.js";
import { registerServices } from "../../hub/services.js";
import type { ServiceDeps } from "../../hub/service-deps.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

/** Methods that only read, by the naming convention of hub/api/README.md. */
const READ_VERB = /^(Get|List|Check|Preview|Resolve|WhoAmI)/;

function adminMethods(): DescMethod[] {
  const router = createConnectRouter();
  registerServices(router, new PolicyRegistry(), {} as ServiceDeps);
  return router.handlers.map((h) => h.method);
}

describe("read methods answer HTTP GET (Connect, idempotency_level = NO_SIDE_EFFECTS)", function () {
  this.timeout(60_000);
  const methods = adminMethods();
  const reads = methods.filter((m) => READ_VERB.test(m.name));

  it("every read method is declared NO_SIDE_EFFECTS, and nothing else is", () => {
    expect(reads.length, "read methods found").to.be.at.least(20);
    const undeclared = reads
      .filter((m) => m.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS)
      .map((m) => `${m.parent.name}.${m.name}`);
    expect(undeclared).to.deep.equal([]);
    const writesDeclaredRead = methods
      .filter((m) => !READ_VERB.test(m.name) && m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS)
      .map((m) => `${m.parent.name}.${m.name}`);
    expect(writesDeclaredRead).to.deep.equal([]);
  });

  describe("against a running hub", () => {
    let t: TestHub;
    let token: string;
    before(async () => {
      t = await startTestHub();
      token = await t.adminToken();
    });
    after(async () => t?.stop());

    it("serves every read over GET: the handler answers (an empty request may be invalid, never unsupported)", async () => {
      const failures: string[] = [];
      for (const m of reads) {
        const url = `${t.baseUrl}/${m.parent.typeName}/${m.name}?connect=v1&encoding=json&message=${encodeURIComponent("{}")}`;
        const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { code?: string };
        // 200, or a Connect error from the handler (e.g. invalid_argument for a missing id); a GET the
        // server does not route answers 405/unimplemented instead.
        if (res.status === 405 || body.code === "unimplemented" || body.code === "internal")
          failures.push(`${m.parent.name}.${m.name}: ${res.status} ${JSON.stringify(body)}`);
      }
      expect(failures).to.deep.equal([]);
    });

    it("WhoAmI over GET returns the principal, like the README's curl", async () => {
      const res = await fetch(
        `${t.baseUrl}/edgehub.admin.v1.AuthService/WhoAmI?connect=v1&encoding=json&message=%7B%7D`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { principal?: { username?: string } };
      expect(body.principal?.username).to.equal("admin");
    });

    it("refuses GET for a method that writes", async () => {
      const res = await fetch(
        `${t.baseUrl}/edgehub.admin.v1.AuthService/Logout?connect=v1&encoding=json&message=%7B%7D`,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(res.status).to.equal(405);
    });
  });
});
