import { expect } from "chai";
import { ConfigError, parseHubConfig } from "../../hub/config.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

describe("/metrics is served apart from the admin API (security #10)", function () {
  this.timeout(60_000);
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(async () => t?.stop());

  it("the admin port answers 404 for /metrics; the metrics listener serves Prometheus text and nothing else", async () => {
    expect((await fetch(`${t.baseUrl}/metrics`)).status).to.equal(404);
    expect((await fetch(`${t.baseUrl}/healthz`)).status).to.equal(200);
    const res = await fetch(`http://127.0.0.1:${t.hub.metricsPort}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.contain("text/plain");
    expect(await res.text()).to.contain("edgehub_");
    // The metrics listener is not a second door into the API.
    expect((await fetch(`http://127.0.0.1:${t.hub.metricsPort}/healthz`)).status).to.equal(404);
    const api = await fetch(`http://127.0.0.1:${t.hub.metricsPort}/edgehub.admin.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(api.status).to.equal(404);
  });

  it("defaults to 127.0.0.1:9464, takes host:port or none, and refuses anything else", () => {
    expect(parseHubConfig([], {}).metricsListen).to.deep.equal({ host: "127.0.0.1", port: 9464 });
    expect(parseHubConfig(["--metrics-listen", "0.0.0.0:9100"], {}).metricsListen).to.deep.equal({
      host: "0.0.0.0",
      port: 9100,
    });
    expect(parseHubConfig(["--metrics-listen", "[::1]:9100"], {}).metricsListen).to.deep.equal({
      host: "::1",
      port: 9100,
    });
    expect(parseHubConfig([], { HUB_METRICS_LISTEN: "none" }).metricsListen).to.equal(undefined);
    for (const bad of ["9464", "host:", "host:99999", "a b:1"])
      expect(() => parseHubConfig(["--metrics-listen", bad], {}), bad).to.throw(ConfigError, /--metrics-listen/);
  });

  it("a hub with --metrics-listen none serves no metrics port", async () => {
    const quiet = await startTestHub({ args: ["--metrics-listen", "none"] });
    try {
      expect(quiet.hub.metricsPort).to.equal(undefined);
    } finally {
      await quiet.stop();
    }
  });
});
