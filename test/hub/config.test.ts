import { expect } from "chai";
import { parseHubConfig } from "../../hub/config.js";

describe("hub configuration", () => {
  it("has the documented defaults", () => {
    const c = parseHubConfig([], {});
    expect(c.httpPort).to.equal(8080);
    expect(c.grpcPort).to.equal(9443);
    expect(c.dataDir).to.match(/\/data$/);
    expect(c.databaseUrl).to.equal(undefined);
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it("reads the environment, and flags win over it", () => {
    const env = { HUB_HTTP_PORT: "9000", DATABASE_URL: "postgres://u@db:5432/hub", HUB_LOG_LEVEL: "warn" };
    const fromEnv = parseHubConfig([], env);
    expect(fromEnv.httpPort).to.equal(9000);
    expect(fromEnv.databaseUrl).to.equal("postgres://u@db:5432/hub");
    const flagged = parseHubConfig(["--http-port", "9100", "--log-level", "debug"], env);
    expect(flagged.httpPort).to.equal(9100);
    expect(flagged.logLevel).to.equal("debug");
  });

  it("names the bad key when a value is invalid", () => {
    // Commander prints the error and the whole help after it; captured here, not sent to the test log.
    let stderr = "";
    const output = { writeErr: (text: string) => void (stderr += text) };
    expect(() => parseHubConfig(["--http-port", "70000"], {}, output)).to.throw(
      /--http-port must be an integer from 0 to 65535/,
    );
    expect(() => parseHubConfig([], { HUB_GRPC_PORT: "abc" }, output)).to.throw(/--grpc-port/);
    expect(() => parseHubConfig([], { DATABASE_URL: "mysql://x" }, output)).to.throw(
      /DATABASE_URL must start with postgres/,
    );
    expect(() => parseHubConfig(["--log-level", "loud"], {}, output)).to.throw(/log level/);
    expect(stderr).to.contain("--http-port must be an integer from 0 to 65535").and.to.contain("Usage: edgehub");
  });
});
