import { expect } from "chai";
import { CommanderError } from "commander";
import { parseAgentConfig } from "../../agent/config.js";
import { monHostsOf } from "../../agent/rbd/pools.js";

// The ceph_gateway role's settings and the mon address form it reports (no cluster needed).

function refusal(argv: string[]): string {
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

describe("ceph_gateway configuration and mon addresses", () => {
  const hub = ["--hub", "hub-1:9443", "--role", "ceph_gateway"];

  it("defaults to /etc/ceph/ceph.conf as client.admin with a 10 s timeout", () => {
    expect(parseAgentConfig(hub, {}).ceph).to.deep.equal({
      conf: "/etc/ceph/ceph.conf",
      monHost: undefined,
      user: "admin",
      keyring: undefined,
      timeoutSeconds: 10,
    });
  });

  it("takes the flags, and the environment when a flag is absent (no default conf with a mon host)", () => {
    const c = parseAgentConfig(
      [...hub, "--ceph-mon-host", "10.0.0.1:3300,10.0.0.2:3300", "--ceph-user", "client.edgehub-disks"],
      { EDGEHUB_CEPH_KEYRING: "/etc/ceph/gw.keyring", EDGEHUB_CEPH_TIMEOUT: "4", EDGEHUB_CEPH_USER: "ignored" },
    );
    expect(c.ceph).to.deep.equal({
      conf: undefined,
      monHost: "10.0.0.1:3300,10.0.0.2:3300",
      user: "edgehub-disks",
      keyring: "/etc/ceph/gw.keyring",
      timeoutSeconds: 4,
    });
    expect(parseAgentConfig(hub, { EDGEHUB_CEPH_CONF: "/etc/ceph/other.conf" }).ceph.conf).to.equal(
      "/etc/ceph/other.conf",
    );
  });

  it("refuses a timeout that is not a positive number, naming the flag", () => {
    expect(refusal([...hub, "--ceph-timeout", "0"])).to.match(/--ceph-timeout must be a positive number, got "0"/);
    expect(refusal([...hub, "--ceph-timeout", "soon"])).to.match(/--ceph-timeout must be a positive number/);
  });

  it("reports one entry per monitor in Ceph's own syntax (what a client conf's mon host takes)", () => {
    expect(monHostsOf("v2:127.0.0.1:3300")).to.deep.equal(["v2:127.0.0.1:3300"]);
    expect(monHostsOf("[v2:10.0.0.1:3300,v1:10.0.0.1:6789],[v2:10.0.0.2:3300, v1:10.0.0.2:6789]")).to.deep.equal([
      "[v2:10.0.0.1:3300,v1:10.0.0.1:6789]",
      "[v2:10.0.0.2:3300,v1:10.0.0.2:6789]",
    ]);
    expect(monHostsOf("10.0.0.1:6789, 10.0.0.2:6789;10.0.0.3")).to.deep.equal([
      "10.0.0.1:6789",
      "10.0.0.2:6789",
      "10.0.0.3",
    ]);
    expect(monHostsOf("")).to.deep.equal([]);
  });
});
