import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FirmwareSlots } from "../../cloudbox-firmware-client/firmware/firmware-slots.js";
import { runHealthCheck } from "../../cloudbox-firmware-client/firmware/firmware-health.js";

function image(dir: string, name: string, healthExit: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n# firmware ${name}\n[ "$1" = health ] && exit ${healthExit}\nexit 0\n`);
  return file;
}

describe("cloud box A/B firmware slots (temp directory)", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-slots-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const manifest = (version: string) => ({
    version,
    sha256: "0".repeat(64),
    firmwareVersionId: "x",
    installedAt: "now",
  });

  it("starts on slot a with no previous slot and writes only the inactive slot", () => {
    const slots = new FirmwareSlots(dir);
    expect(slots.pointer()).to.deep.equal({ active: "a", previous: null, trial: false });
    expect(slots.inactive()).to.equal("b");
    slots.install("b", image(dir, "v1", 0), manifest("1.0.0"));
    expect(slots.manifest("b")?.version).to.equal("1.0.0");
    expect(fs.statSync(slots.programOf("b")).mode & 0o111).to.not.equal(0);
    expect(() => slots.install("a", image(dir, "v2", 0), manifest("2.0.0"))).to.throw(/active slot/);
    expect(slots.manifest("a")).to.equal(undefined);
  });

  it("switches as a trial, confirms, and rolls back to the slot it came from", () => {
    const slots = new FirmwareSlots(dir);
    slots.install("b", image(dir, "v1", 0), manifest("1.0.0"));
    expect(slots.switchTo("b")).to.deep.equal({ active: "b", previous: "a", trial: true });
    expect(slots.confirm()).to.deep.equal({ active: "b", previous: "a", trial: false });
    slots.install("a", image(dir, "v2", 1), manifest("2.0.0"));
    slots.switchTo("a");
    expect(slots.rollBack()).to.deep.equal({ active: "b", previous: "a", trial: false });
    // The pointer survives a new reader (what a reboot sees), and no temp file is left beside it.
    expect(new FirmwareSlots(dir).pointer().active).to.equal("b");
    expect(fs.readdirSync(path.join(dir, "slots")).sort()).to.deep.equal(["a", "active.json", "b"]);
  });

  it("a box that died during a trial starts on the previous slot", () => {
    const slots = new FirmwareSlots(dir);
    slots.install("b", image(dir, "v1", 0), manifest("1.0.0"));
    slots.switchTo("b");
    const after = new FirmwareSlots(dir).recoverUnfinishedTrial();
    expect(after).to.deep.equal({ active: "a", previous: "b", trial: false });
    expect(new FirmwareSlots(dir).recoverUnfinishedTrial()).to.equal(undefined);
  });

  it("refuses a damaged pointer instead of guessing a slot", () => {
    const slots = new FirmwareSlots(dir);
    fs.writeFileSync(
      path.join(dir, "slots", "active.json"),
      JSON.stringify({ active: "c", previous: null, trial: false }),
    );
    expect(() => slots.pointer()).to.throw(/damaged/);
  });

  describe("health check", () => {
    it("is healthy on exit 0 and unhealthy on another exit code, with the reason", async () => {
      const slots = new FirmwareSlots(dir);
      slots.install("b", image(dir, "good", 0), manifest("1.0.0"));
      const ok = await runHealthCheck(slots.programOf("b"), {}, 10_000, new AbortController().signal);
      expect(ok.healthy).to.equal(true);
      slots.switchTo("b");
      slots.confirm();
      slots.install("a", image(dir, "bad", 3), manifest("2.0.0"));
      const bad = await runHealthCheck(slots.programOf("a"), {}, 10_000, new AbortController().signal);
      expect(bad).to.deep.include({ healthy: false });
      expect(bad.detail).to.match(/code 3/);
    });

    it("is unhealthy when the check hangs past the deadline", async () => {
      const file = path.join(dir, "hang");
      fs.writeFileSync(file, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
      const r = await runHealthCheck(file, {}, 1_000, new AbortController().signal);
      expect(r).to.deep.equal({ healthy: false, detail: "no healthy answer within 1000 ms" });
    });

    it("is unhealthy when the program cannot start", async () => {
      const file = path.join(dir, "not-executable");
      fs.writeFileSync(file, "plain bytes", { mode: 0o644 });
      const r = await runHealthCheck(file, {}, 5_000, new AbortController().signal);
      expect(r.healthy).to.equal(false);
      expect(r.detail).to.match(/cannot start the health check/);
    });
  });
});
