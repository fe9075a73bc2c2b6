import { expect } from "chai";
import { startTestHub, type TestHub } from "../support/test-hub.js";

const CONSOLE = "http://console.example.test:3000";
const WHOAMI = "/edgehub.admin.v1.AuthService/WhoAmI";

describe("CORS for a browser console (--cors-origin)", function () {
  this.timeout(60_000);
  let t: TestHub;
  before(async () => {
    t = await startTestHub({ args: ["--cors-origin", CONSOLE] });
  });
  after(async () => t?.stop());

  it("answers the preflight of a configured origin with the Connect methods and headers", async () => {
    const res = await fetch(`${t.baseUrl}${WHOAMI}`, {
      method: "OPTIONS",
      headers: {
        origin: CONSOLE,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get("access-control-allow-origin")).to.equal(CONSOLE);
    expect(res.headers.get("access-control-allow-methods")).to.contain("POST").and.contain("GET");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase())
      .to.contain("authorization")
      .and.contain("connect-protocol-version");
  });

  it("adds the allow-origin header to calls from that origin, and none for another origin", async () => {
    const call = (origin: string) =>
      fetch(`${t.baseUrl}${WHOAMI}`, {
        method: "POST",
        headers: { origin, "content-type": "application/json" },
        body: "{}",
      });
    const allowed = await call(CONSOLE);
    expect(allowed.headers.get("access-control-allow-origin")).to.equal(CONSOLE);
    expect(allowed.headers.get("access-control-expose-headers")?.toLowerCase()).to.contain("x-request-id");
    const other = await call("http://evil.example.test");
    expect(other.headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("refuses a --cors-origin that is not an origin", async () => {
    const { parseHubConfig } = await import("../../hub/config.js");
    // Commander prints the error and the whole help after it; captured here, not sent to the test log.
    let stderr = "";
    const output = { writeErr: (text: string) => void (stderr += text) };
    expect(() => parseHubConfig(["--cors-origin", "https://console.example.org/path"], {}, output)).to.throw(
      /origins like/,
    );
    expect(stderr).to.contain("--cors-origin entries must be origins");
    expect(parseHubConfig([], {}).corsOrigins).to.deep.equal([]);
  });
});
