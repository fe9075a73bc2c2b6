import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { gpuFactsOf, gpuSampleOf, parseNvidiaSmiCsv } from "../../lib/host-facts/parse-nvidia-smi-csv.js";

const fixture = (name: string) =>
  fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", name), "utf8");

describe("parseNvidiaSmiCsv", () => {
  it("reads blank output as no GPUs", () => {
    expect(parseNvidiaSmiCsv(fixture("nvidia-smi-no-gpu.csv"))).to.deep.equal([]);
    expect(parseNvidiaSmiCsv("\n  \n")).to.deep.equal([]);
  });

  it('reads "No devices were found" as no GPUs', () => {
    expect(parseNvidiaSmiCsv(fixture("nvidia-smi-no-devices.txt"))).to.deep.equal([]);
  });

  it("reads one GPU with every field", () => {
    expect(parseNvidiaSmiCsv(fixture("nvidia-smi-1-gpu.csv"))).to.deep.equal([
      {
        index: 0,
        uuid: "GPU-5a3c9f8e-1b2d-4c6e-9f0a-7d8e9f0a1b2c",
        name: "NVIDIA GeForce RTX 4090",
        memoryTotalMib: 24564,
        computeCapability: "8.9",
        temperatureCelsius: 41,
        utilizationPercent: 3,
        memoryUsedMib: 412,
        powerDrawWatts: 28.74,
        pciBusId: "00000000:01:00.0",
      },
    ]);
  });

  it("reads recordings of the nine-field query (before pci.bus_id) with no bus id, not as errors", () => {
    const gpus = parseNvidiaSmiCsv(fixture("nvidia-smi-8-gpus.csv"));
    expect(gpus.map((g) => [g.pciBusId, g.error])).to.deep.equal(Array.from({ length: 8 }, () => ["", undefined]));
    expect(parseNvidiaSmiCsv("0, GPU-x, A16, 15356, 8.6, 38, 1, 0, 20, 00000000:17:00.0, extra")[0]!.error).to.be.a(
      "string",
    );
  });

  it("reads eight GPUs in index order, none in error", () => {
    const gpus = parseNvidiaSmiCsv(fixture("nvidia-smi-8-gpus.csv"));
    expect(gpus.map((g) => g.index)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(
      gpus.every((g) => g.error === undefined && g.name === "NVIDIA A100-SXM4-80GB" && g.memoryTotalMib === 81920),
    ).to.equal(true);
    expect(gpus[4]).to.include({
      temperatureCelsius: 88,
      utilizationPercent: 99,
      memoryUsedMib: 80110,
      powerDrawWatts: 412.88,
    });
  });

  it("treats [N/A] and [Not Supported] as absent readings, not errors", () => {
    const [gpu] = parseNvidiaSmiCsv(fixture("nvidia-smi-not-supported.csv"));
    expect(gpu!.error).to.equal(undefined);
    expect(gpu!.utilizationPercent).to.equal(undefined);
    expect(gpu!.powerDrawWatts).to.equal(undefined);
    expect(gpu!.memoryUsedMib).to.equal(0);
  });

  it("marks ERR!, [GPU is lost] and unparseable lines as GPUs in error without dropping any", () => {
    const gpus = parseNvidiaSmiCsv(fixture("nvidia-smi-gpu-error.csv"));
    expect(gpus.map((g) => g.index)).to.deep.equal([0, 1, 2, 3]);
    expect(gpus[0]!.error).to.equal(undefined);
    expect(gpus[1]!.error).to.contain("ERR! in temperature.gpu");
    expect(gpus[1]!.temperatureCelsius).to.equal(undefined);
    expect(gpus[1]!.memoryUsedMib).to.equal(1024);
    expect(gpus[2]!.error).to.contain("[GPU is lost] in uuid");
    expect(gpus[2]!.uuid).to.equal("");
    expect(gpus[3]!.error).to.contain("Unable to determine the device handle");
  });

  it("flags a non-numeric reading instead of storing NaN", () => {
    const [gpu] = parseNvidiaSmiCsv("0, GPU-x, Some GPU, 1024, 7.5, hot, 1, 2, 3\n");
    expect(gpu!.temperatureCelsius).to.equal(undefined);
    expect(gpu!.error).to.contain("temperature.gpu");
  });

  it("maps readings to inventory facts and samples", () => {
    const [ok, broken] = parseNvidiaSmiCsv(fixture("nvidia-smi-gpu-error.csv"));
    expect(gpuFactsOf(ok!)).to.deep.include({
      status: "ok",
      statusDetail: "",
      memoryTotalMib: 32768,
      computeCapability: "7.0",
    });
    expect(gpuFactsOf(broken!).status).to.equal("error");
    expect(gpuSampleOf(broken!)).to.deep.include({
      index: 1,
      error: true,
      temperatureCelsius: undefined,
      memoryUsedMib: 1024,
    });
  });
});
