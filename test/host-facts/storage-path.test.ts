import { expect } from "chai";
import os from "node:os";
import path from "node:path";
import si from "systeminformation";
import { collectInventory } from "../../lib/host-facts/collect-inventory.js";

describe("compute storage where the host shows no block devices", function () {
  this.timeout(60_000);

  it("reports the instance directory's filesystem (its nearest existing ancestor's) instead of nothing", async () => {
    const devices = await si.diskLayout().catch(() => []);
    const where = path.join(os.tmpdir(), "edgehub-not-created-yet", "instances");
    const inv = await collectInventory({ storagePath: where, gpus: { command: "/nonexistent/nvidia-smi" } });
    if (devices.length === 0) {
      expect(inv.disks).to.have.length(1);
      expect(inv.disks[0]!.name).to.equal(where);
      expect(inv.disks[0]!.sizeBytes).to.be.greaterThan(0);
    } else {
      // Real block devices win: they are what the host has.
      expect(inv.disks.map((d) => d.name)).to.not.include(where);
      expect(inv.disks).to.have.length(devices.length);
    }
  });
});
