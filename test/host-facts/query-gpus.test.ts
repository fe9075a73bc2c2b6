import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { NvidiaSmiError, queryGpus } from "../../lib/host-facts/query-gpus.js";
import { collectInventory, detectHypervisor } from "../../lib/host-facts/collect-inventory.js";
import { sampleMetrics } from "../../lib/host-facts/sample-metrics.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

describe("queryGpus", () => {
  let dir: string;
  /** A fake nvidia-smi: a shell script with the given body. */
  const fake = (name: string, body: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgehub-smi-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes the documented query and parses the answer", async () => {
    const cmd = fake("smi-8", `echo "$@" > ${dir}/args; cat ${fixtures}/nvidia-smi-8-gpus.csv`);
    const gpus = await queryGpus({ command: cmd });
    expect(gpus).to.have.length(8);
    expect(fs.readFileSync(path.join(dir, "args"), "utf8").trim()).to.equal(
      "--query-gpu=index,uuid,name,memory.total,compute_cap,temperature.gpu,utilization.gpu,memory.used,power.draw,pci.bus_id --format=csv,noheader,nounits",
    );
  });

  it("reports no GPUs when the binary is missing", async () => {
    expect(await queryGpus({ command: path.join(dir, "does-not-exist") })).to.deep.equal([]);
  });

  it('reports no GPUs when nvidia-smi exits non-zero with "No devices were found"', async () => {
    expect(await queryGpus({ command: fake("smi-none", "echo 'No devices were found'; exit 6") })).to.deep.equal([]);
  });

  it("raises a retryable NvidiaSmiError when the driver does not answer", async () => {
    const cmd = fake(
      "smi-broken",
      'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."; exit 9',
    );
    const err = await queryGpus({ command: cmd }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NvidiaSmiError);
    expect((err as NvidiaSmiError).message).to.contain("couldn't communicate");
    expect((err as NvidiaSmiError).retryable).to.equal(true);
  });

  it("kills a hung nvidia-smi after the timeout", async () => {
    const err = await queryGpus({ command: fake("smi-hung", "exec sleep 30"), timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(NvidiaSmiError);
    expect((err as Error).message).to.contain("timed out");
  });

  it("samples metrics with the inventory's GPUs in error when nvidia-smi fails", async () => {
    const sample = await sampleMetrics({
      gpus: { command: fake("smi-fail", "exit 1") },
      expectedGpus: [
        {
          index: 0,
          uuid: "GPU-a",
          name: "A16",
          memoryTotalMib: 15356,
          computeCapability: "8.6",
          status: "ok",
          statusDetail: "",
          pciBusId: "00000000:17:00.0",
        },
      ],
    });
    expect(sample.gpus).to.deep.equal([{ index: 0, uuid: "GPU-a", error: true }]);
    expect(sample.memoryTotalBytes).to.be.greaterThan(0);
    expect(sample.memoryAvailableBytes).to.be.at.most(sample.memoryTotalBytes);
    expect(sample.disks.length).to.be.greaterThan(0);
  });

  it("collects this host's inventory with GPUs from nvidia-smi", async () => {
    const inv = await collectInventory({
      gpus: { command: fake("smi-1", `cat ${fixtures}/nvidia-smi-1-gpu.csv`) },
      hypervisorProbe: () => "none",
    });
    expect(inv.hostname).to.equal(os.hostname());
    expect(inv.cpu.threads).to.equal(os.cpus().length);
    expect(inv.memoryTotalBytes).to.equal(os.totalmem());
    expect(inv.gpus).to.deep.equal([
      {
        index: 0,
        uuid: "GPU-5a3c9f8e-1b2d-4c6e-9f0a-7d8e9f0a1b2c",
        name: "NVIDIA GeForce RTX 4090",
        memoryTotalMib: 24564,
        computeCapability: "8.9",
        status: "ok",
        statusDetail: "",
        pciBusId: "00000000:01:00.0",
      },
    ]);
  });

  it("detects libvirt from its markers", () => {
    const marker = fake("virsh", "exit 0");
    expect(detectHypervisor([marker])).to.equal("kvm");
    expect(detectHypervisor([path.join(dir, "no-virsh")])).to.equal("none");
  });
});
