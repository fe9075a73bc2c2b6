import { expect } from "chai";
import { choosePlacement } from "../../hub/scheduler/choose-placement.js";
import type { SchedulingSnapshot, SnapshotMachine } from "../../hub/scheduler/scheduling-snapshot.js";
import { gpuMachine, machine, pool, request } from "./snapshot-fixtures.js";

const snap = (machines: SnapshotMachine[], p = pool()): SchedulingSnapshot => ({ pools: [p], machines });

describe("choosePlacement filters", () => {
  it("passes over machines that are not active, counting each state", () => {
    const d = choosePlacement(
      snap([
        machine("m1", { status: "maintenance" }),
        machine("m2", { status: "offline" }),
        machine("m3", { status: "decommissioning" }),
        machine("m4"),
      ]),
      request(),
    );
    expect(d.chosen?.machine.id).to.equal("m4");
    expect(d.considered).to.equal(4);
    expect(d.rejectedBy).to.deep.equal({ maintenance: 1, offline: 1, decommissioning: 1 });
  });

  it("refuses critical health but places on warning and unknown", () => {
    const d = choosePlacement(snap([machine("m1", { healthStatus: "critical" })]), request());
    expect(d.chosen).to.equal(null);
    expect(d.rejectedBy).to.deep.equal({ health_critical: 1 });
    for (const healthStatus of ["warning", "unknown"] as const)
      expect(choosePlacement(snap([machine("m1", { healthStatus })]), request()).chosen?.machine.id).to.equal("m1");
  });

  it("needs a connected agent to send the domain to", () => {
    const d = choosePlacement(
      snap([machine("m1", { agentConnected: false }), machine("m2", { agentId: null, agentConnected: false })]),
      request(),
    );
    expect(d.chosen).to.equal(null);
    expect(d.rejectedBy).to.deep.equal({ agent_disconnected: 2 });
  });

  it("keeps to the requested pool", () => {
    const other = pool({ id: "pool-b", name: "edge-b" });
    const d = choosePlacement(
      { pools: [pool(), other], machines: [machine("m1", { computePoolId: "pool-b" }), machine("m2")] },
      request(),
    );
    expect(d.chosen?.machine.id).to.equal("m2");
    expect(d.rejectedBy).to.deep.equal({ pool_mismatch: 1 });
  });

  it("with no pool named, places in any active pool and skips the others", () => {
    const off = pool({ id: "pool-b", name: "edge-b", status: "maintenance" });
    const big = machine("m1", { computePoolId: "pool-b", cpuCores: 128 });
    const d = choosePlacement(
      { pools: [pool(), off], machines: [big, machine("m2")] },
      request({ computePoolId: null }),
    );
    expect(d.chosen?.machine.id).to.equal("m2");
    expect(d.policy).to.equal("load_balance");
    expect(d.rejectedBy).to.deep.equal({ pool_not_active: 1 });
  });

  it("gives a shared request only shared machines", () => {
    const d = choosePlacement(snap([machine("m1", { rentalMode: "exclusive" })]), request());
    expect(d.chosen).to.equal(null);
    expect(d.rejectedBy).to.deep.equal({ rental_mode: 1 });
  });

  it("gives an exclusive request an unused exclusive machine, whole", () => {
    const used = machine("m1", { rentalMode: "exclusive", allocatedMemoryGb: 1 });
    const free = gpuMachine("m2", "gpu-t4x2.csv", [], { rentalMode: "exclusive" });
    const shared = machine("m3");
    const d = choosePlacement(snap([used, free, shared]), request({ rentalMode: "exclusive" }));
    expect(d.rejectedBy).to.deep.equal({ exclusive_in_use: 1, rental_mode: 1 });
    expect(d.chosen?.machine.id).to.equal("m2");
    expect(d.chosen?.exclusive).to.equal(true);
    expect(d.chosen?.charge.cpuCores).to.equal(64);
    expect(d.chosen?.charge.memoryGb).to.equal(512);
    expect(d.chosen?.charge.storageGb).to.equal(4000);
    expect(d.chosen?.charge.gpus.map((g) => g.index)).to.deep.equal([0, 1]);
  });

  it("still checks an exclusive request's demand against the machine's size", () => {
    const d = choosePlacement(
      snap([machine("m1", { rentalMode: "exclusive" })]),
      request({ rentalMode: "exclusive", cpuCores: 32 }),
    );
    expect(d.chosen).to.equal(null);
    expect(d.rejectedBy).to.deep.equal({ cpu: 1 });
  });

  it("fits CPU, memory and storage exactly and refuses one unit more", () => {
    const m = machine("m1", { allocatedCpuCores: 14, allocatedMemoryGb: 60, allocatedStorageGb: 980 });
    expect(choosePlacement(snap([m]), request()).chosen?.charge).to.deep.include({
      cpuCores: 2,
      memoryGb: 4,
      storageGb: 20,
    });
    expect(choosePlacement(snap([m]), request({ cpuCores: 3 })).rejectedBy).to.deep.equal({ cpu: 1 });
    expect(choosePlacement(snap([m]), request({ memoryGb: 5 })).rejectedBy).to.deep.equal({ memory: 1 });
    expect(choosePlacement(snap([m]), request({ storageGb: 21 })).rejectedBy).to.deep.equal({ storage: 1 });
  });

  it("requires every required label with its value", () => {
    const d = choosePlacement(
      snap([
        machine("m1", { labels: { zone: "b", ssd: "true" } }),
        machine("m2", { labels: { zone: "a" } }),
        machine("m3", { labels: { zone: "a", ssd: "true", extra: "x" } }),
      ]),
      request({ requiredLabels: { zone: "a", ssd: "true" } }),
    );
    expect(d.chosen?.machine.id).to.equal("m3");
    expect(d.rejectedBy).to.deep.equal({ labels: 2 });
  });

  it("counts each machine once, under the first filter it fails", () => {
    const d = choosePlacement(
      snap([machine("m1", { status: "maintenance", agentConnected: false, cpuCores: 1 })]),
      request(),
    );
    expect(d.rejectedBy).to.deep.equal({ maintenance: 1 });
  });
});

describe("choosePlacement GPUs (recorded nvidia-smi inventories)", () => {
  it("takes whole available GPUs of the requested model, lowest index first (first_fit)", () => {
    const m = gpuMachine("m1", "gpu-a100x8.csv", [0, 2]);
    const d = choosePlacement(snap([m]), request({ gpuCount: 3, gpuModel: "NVIDIA A100-SXM4-80GB" }));
    expect(d.chosen?.charge.gpus.map((g) => g.index)).to.deep.equal([1, 3, 4]);
  });

  it("matches the model without regard to case or surrounding space", () => {
    const m = gpuMachine("m1", "gpu-t4x2.csv");
    expect(choosePlacement(snap([m]), request({ gpuCount: 1, gpuModel: " tesla t4" })).chosen?.machine.id).to.equal(
      "m1",
    );
  });

  it("never hands out a GPU in error", () => {
    const m = gpuMachine("m1", "gpu-v100-with-error.csv");
    expect(m.gpus[1]!.status).to.equal("error");
    const d = choosePlacement(snap([m]), request({ gpuCount: 3 }));
    expect(d.chosen?.charge.gpus.map((g) => g.index)).to.deep.equal([0, 2, 3]);
    expect(choosePlacement(snap([m]), request({ gpuCount: 4 })).rejectedBy).to.deep.equal({ gpu_count: 1 });
  });

  it("says short of GPUs when the model is there but taken, and without the model when it is absent", () => {
    const busy = gpuMachine("m1", "gpu-t4x2.csv", [0, 1]);
    const other = gpuMachine("m2", "gpu-a100x4.csv");
    const plain = machine("m3");
    const d = choosePlacement(snap([busy, other, plain]), request({ gpuCount: 1, gpuModel: "Tesla T4" }));
    expect(d.chosen).to.equal(null);
    expect(d.rejectedBy).to.deep.equal({ gpu_count: 1, gpu_model: 2 });
  });

  it("with no model named, gives GPUs of one model only", () => {
    const mixed = machine("m1", {
      gpuCount: 3,
      gpus: [
        { id: "g0", index: 0, model: "Tesla T4", pciAddress: "0000:17:00.0", status: "available" },
        { id: "g1", index: 1, model: "NVIDIA A100-SXM4-80GB", pciAddress: "0000:27:00.0", status: "available" },
        { id: "g2", index: 2, model: "NVIDIA A100-SXM4-80GB", pciAddress: "0000:37:00.0", status: "available" },
      ],
    });
    expect(choosePlacement(snap([mixed]), request({ gpuCount: 2 })).chosen?.charge.gpus.map((g) => g.id)).to.deep.equal(
      ["g1", "g2"],
    );
    expect(choosePlacement(snap([mixed]), request({ gpuCount: 3 })).rejectedBy).to.deep.equal({ gpu_count: 1 });
  });

  it("first_fit leaves the machine to the pool's policy; least_loaded picks the most free GPUs", () => {
    // m1 has 2 of 4 A100s free and the higher priority; m2 has 6 of 8 free.
    const m1 = gpuMachine("m1", "gpu-a100x4.csv", [0, 1], { priority: 10 });
    const m2 = gpuMachine("m2", "gpu-a100x8.csv", [0, 1]);
    const req = request({ gpuCount: 2, gpuModel: "NVIDIA A100-SXM4-80GB" });
    const firstFit = choosePlacement(snap([m1, m2], pool({ schedulingPolicy: "priority" })), req);
    expect(firstFit.gpuAllocationStrategy).to.equal("first_fit");
    expect(firstFit.chosen?.machine.id).to.equal("m1");
    expect(firstFit.chosen?.charge.gpus.map((g) => g.index)).to.deep.equal([2, 3]);
    const leastLoaded = choosePlacement(
      snap([m1, m2], pool({ schedulingPolicy: "priority", gpuAllocationStrategy: "least_loaded" })),
      req,
    );
    expect(leastLoaded.chosen?.machine.id).to.equal("m2");
    expect(leastLoaded.chosen?.charge.gpus.map((g) => g.index)).to.deep.equal([2, 3]);
  });

  it("least_loaded counts only GPUs of the requested model", () => {
    const t4 = gpuMachine("m1", "gpu-t4x2.csv");
    const a100 = gpuMachine("m2", "gpu-a100x8.csv");
    const d = choosePlacement(
      snap([t4, a100], pool({ gpuAllocationStrategy: "least_loaded" })),
      request({ gpuCount: 1, gpuModel: "Tesla T4" }),
    );
    expect(d.chosen?.machine.id).to.equal("m1");
  });

  it("least_loaded does not reorder requests without GPUs", () => {
    const gpu = gpuMachine("m1", "gpu-a100x8.csv", [], { cpuCores: 16, allocatedCpuCores: 8 });
    const cpu = machine("m2");
    const d = choosePlacement(snap([gpu, cpu], pool({ gpuAllocationStrategy: "least_loaded" })), request());
    expect(d.chosen?.machine.id).to.equal("m2");
  });
});

describe("choosePlacement policies", () => {
  it("load_balance picks the machine least loaded after placement, by its fullest dimension", () => {
    // m1: 8/16 CPU used → 10/16 after. m2: 40/64 memory used → 44/64 after (0.69 > 0.63). m3: 4/8 CPU → 6/8.
    const d = choosePlacement(
      snap([
        machine("m1", { allocatedCpuCores: 8 }),
        machine("m2", { allocatedMemoryGb: 40 }),
        machine("m3", { cpuCores: 8, allocatedCpuCores: 4 }),
      ]),
      request(),
    );
    expect(d.policy).to.equal("load_balance");
    expect(d.chosen?.machine.id).to.equal("m1");
  });

  it("priority picks the highest priority that fits, then the least loaded", () => {
    const machines = [
      machine("m1", { priority: 1 }),
      machine("m2", { priority: 5, allocatedCpuCores: 10 }),
      machine("m3", { priority: 5, allocatedCpuCores: 4 }),
      machine("m4", { priority: 9, allocatedCpuCores: 15 }),
    ];
    const d = choosePlacement(snap(machines, pool({ schedulingPolicy: "priority" })), request());
    expect(d.rejectedBy).to.deep.equal({ cpu: 1 });
    expect(d.chosen?.machine.id).to.equal("m3");
  });

  it("affinity prefers the named machine while it fits, else balances", () => {
    const machines = [machine("m1", { allocatedCpuCores: 12 }), machine("m2")];
    const p = pool({ schedulingPolicy: "affinity" });
    expect(choosePlacement(snap(machines, p), request({ affinityMachineId: "m1" })).chosen?.machine.id).to.equal("m1");
    expect(
      choosePlacement(snap(machines, p), request({ affinityMachineId: "m1", cpuCores: 8 })).chosen?.machine.id,
    ).to.equal("m2");
    expect(choosePlacement(snap(machines, p), request()).chosen?.machine.id).to.equal("m2");
  });

  it("round_robin rotates: never chosen first, then the least recently chosen", () => {
    const p = pool({ schedulingPolicy: "round_robin" });
    const machines = [
      machine("m1", { lastPlacedAt: new Date("2026-11-30T10:00:00Z") }),
      machine("m2", { lastPlacedAt: new Date("2026-11-30T09:00:00Z") }),
      machine("m3"),
    ];
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const chosen = choosePlacement(snap(machines, p), request()).chosen!.machine;
      order.push(chosen.id);
      // What the charge does to the chosen machine's row.
      chosen.lastPlacedAt = new Date(Date.UTC(2026, 10, 30, 11, i));
    }
    expect(order).to.deep.equal(["m3", "m2", "m1", "m3", "m2", "m1"]);
  });

  it("gives the same answer for the same snapshot whatever the machines' order", () => {
    const machines = Array.from({ length: 20 }, (_, i) => machine(`m${String(i).padStart(2, "0")}`));
    const a = choosePlacement(snap(machines), request()).chosen?.machine.id;
    const b = choosePlacement(snap([...machines].reverse()), request()).chosen?.machine.id;
    expect(a).to.equal("m00");
    expect(b).to.equal(a);
  });
});

describe("choosePlacement reasons for people", () => {
  it("says what was asked and why each machine said no", () => {
    const d = choosePlacement(
      snap([
        machine("m1", { allocatedCpuCores: 14 }),
        machine("m2", { allocatedCpuCores: 13 }),
        machine("m3", { status: "maintenance" }),
      ]),
      request({ cpuCores: 4 }),
    );
    expect(d.chosen).to.equal(null);
    expect(d.reason).to.equal(
      'no machine in pool "edge-a" has 4 free CPU cores, 4 GB memory and 20 GB storage (3 machines considered: 1 in maintenance, 2 short of CPU)',
    );
  });

  it("names a GPU model nobody has, and the models there are", () => {
    const d = choosePlacement(
      snap([
        gpuMachine("m1", "gpu-a100x4.csv"),
        gpuMachine("m2", "gpu-t4x2.csv"),
        machine("m3", { status: "offline" }),
      ]),
      request({ gpuCount: 1, gpuModel: "H100" }),
    );
    expect(d.reason).to.equal(
      'no machine in pool "edge-a" has a GPU of model "H100" (GPU models there: "NVIDIA A100-SXM4-80GB" ×4, "Tesla T4" ×2; 3 machines considered: 1 offline, 2 without GPU model "H100")',
    );
  });

  it("says when the pool has no machines at all", () => {
    const d = choosePlacement(snap([]), request({ rentalMode: "exclusive", requiredLabels: { zone: "a" } }));
    expect(d.considered).to.equal(0);
    expect(d.reason).to.equal(
      'no machine in pool "edge-a" has 2 free CPU cores, 4 GB memory and 20 GB storage with labels zone=a on an unused exclusive machine (there are no machines in pool "edge-a")',
    );
  });

  it("leaves the reason empty when a machine is chosen", () => {
    expect(choosePlacement(snap([machine("m1")]), request()).reason).to.equal(null);
  });
});
