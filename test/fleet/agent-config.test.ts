import { expect } from "chai";
import { CommanderError } from "commander";
import { parseAgentConfig } from "../../agent/config.js";

function parseError(argv: string[]): string {
  const saved = process.stderr.write;
  let text = "";
  process.stderr.write = ((chunk: string) => ((text += chunk), true)) as typeof process.stderr.write;
  try {
    parseAgentConfig(argv, {});
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    return text || err.message;
  } finally {
    process.stderr.write = saved;
  }
  throw new Error("expected the arguments to be refused");
}

describe("edgehub-agent configuration", () => {
  it("parses the documented flags into a frozen config", () => {
    const c = parseAgentConfig(
      [
        "--hub",
        "hub-1:9443,10.0.0.2:9443",
        "--join-token",
        " T ",
        "--state-dir",
        "/tmp/x",
        "--role",
        "ceph_gateway",
        "--hostname",
        "gw",
      ],
      {},
    );
    expect(c).to.include({
      hub: "hub-1:9443,10.0.0.2:9443",
      joinToken: "T",
      stateDir: "/tmp/x",
      role: "ceph_gateway",
      hostname: "gw",
      metrics: true,
    });
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it("takes settings from the environment, flags winning", () => {
    const c = parseAgentConfig(["--role", "cloud_box"], {
      EDGEHUB_HUB: "h:1",
      EDGEHUB_ROLE: "compute",
      EDGEHUB_AGENT_TEST_COUNT_FILE: "/tmp/count",
    });
    expect(c).to.include({ hub: "h:1", role: "cloud_box", testCountFile: "/tmp/count" });
  });

  it("refuses a missing or malformed hub address and an unknown role, naming the flag", () => {
    expect(parseError([])).to.contain("--hub");
    expect(parseError(["--hub", "no-port"])).to.contain("--hub must be host:port");
    expect(parseError(["--hub", "h:1", "--role", "router"])).to.contain("--role");
  });
});
