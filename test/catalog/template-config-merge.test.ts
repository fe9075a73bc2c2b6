import { expect } from "chai";
import { InvalidArgumentError } from "../../hub/domain/errors.js";
import { mergeTemplateConfig, type TemplateVersionInput } from "../../hub/catalog/template-config-merge.js";
import type { TemplateConfig } from "../../hub/catalog/template-config.js";

/** The template of the 000 §6.2.1 "配置合并示例". */
const exampleConfig: TemplateConfig = {
  name: "ubuntu-dev",
  description: "",
  useCase: "development",
  templateType: "instance",
  baseImageId: "img-ubuntu-22.04",
  defaultCpuCores: 4,
  defaultMemoryGb: 8,
  defaultStorageGb: 100,
  defaultGpuCount: 0,
  gpuModel: "",
  defaultBandwidthGbps: 5.0,
  networkConfig: { vpc_id: "vpc-001", subnet_id: "subnet-001" },
  userData: "#!/bin/sh\necho base\n",
  tags: { team: "dev", env: "test" },
  pricePerHour: 1.2,
  listed: true,
  instanceSet: null,
};
const version: TemplateVersionInput = { templateId: "tpl-1", versionId: "tv-1", config: exampleConfig };
const versions = new Map([
  ["version-uuid", { imageId: "img-ubuntu-22.04" }],
  ["other-image-version", { imageId: "img-centos-8" }],
]);
const lookup = (id: string) => versions.get(id);

function invalid(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error("expected InvalidArgumentError");
}

describe("mergeTemplateConfig (000 §6.2.1)", () => {
  it("reproduces the worked example of 000 §6.2.1 exactly", () => {
    const merged = mergeTemplateConfig(version, { cpuCores: 8, memoryGb: 16, imageVersionId: "version-uuid" }, lookup);
    expect({
      imageId: merged.imageId,
      imageVersionId: merged.imageVersionId,
      cpuCores: merged.cpuCores,
      memoryGb: merged.memoryGb,
      storageGb: merged.storageGb,
      bandwidthGbps: merged.bandwidthGbps,
      networkConfig: merged.networkConfig,
    }).to.deep.equal({
      imageId: "img-ubuntu-22.04", // not overridable
      imageVersionId: "version-uuid", // user's choice
      cpuCores: 8, // user
      memoryGb: 16, // user
      storageGb: 100, // template default
      bandwidthGbps: 5.0, // template default
      networkConfig: { vpc_id: "vpc-001", subnet_id: "subnet-001" }, // template default
    });
    // What the example does not mention comes from the template unchanged.
    expect(merged).to.include({
      gpuCount: 0,
      userData: exampleConfig.userData,
      templateId: "tpl-1",
      templateVersionId: "tv-1",
    });
    expect(merged.tags).to.deep.equal({ team: "dev", env: "test" });
  });

  it("uses every template default when nothing is overridden, and leaves the image version to the image default", () => {
    const merged = mergeTemplateConfig(version, {}, lookup);
    expect(merged).to.deep.include({
      imageId: "img-ubuntu-22.04",
      imageVersionId: null,
      cpuCores: 4,
      memoryGb: 8,
      storageGb: 100,
      gpuCount: 0,
      bandwidthGbps: 5,
    });
  });

  it("refuses overriding the image, but accepts restating it", () => {
    expect(invalid(() => mergeTemplateConfig(version, { imageId: "img-centos-8" }, lookup)).field).to.equal("image_id");
    expect(mergeTemplateConfig(version, { imageId: "img-ubuntu-22.04" }, lookup).imageId).to.equal("img-ubuntu-22.04");
  });

  it("accepts only a version of the template's image", () => {
    const err = invalid(() => mergeTemplateConfig(version, { imageVersionId: "other-image-version" }, lookup));
    expect(err.field).to.equal("image_version_id");
    expect(err.message).to.contain("img-centos-8").and.contain("img-ubuntu-22.04");
    expect(invalid(() => mergeTemplateConfig(version, { imageVersionId: "nope" }, lookup)).message).to.contain(
      "no image version nope",
    );
  });

  it("merges network config key by key, or replaces it wholly", () => {
    const partial = mergeTemplateConfig(
      version,
      { networkConfig: { subnet_id: "subnet-009", security_group_ids: ["sg-1"] } },
      lookup,
    );
    expect(partial.networkConfig).to.deep.equal({
      vpc_id: "vpc-001",
      subnet_id: "subnet-009",
      security_group_ids: ["sg-1"],
    });
    const whole = mergeTemplateConfig(
      version,
      { networkConfig: { vpc_id: "vpc-777" }, replaceNetworkConfig: true },
      lookup,
    );
    expect(whole.networkConfig).to.deep.equal({ vpc_id: "vpc-777" });
    expect(exampleConfig.networkConfig).to.deep.equal(
      { vpc_id: "vpc-001", subnet_id: "subnet-001" },
      "the template is not mutated",
    );
  });

  it("replaces or appends to user_data, but not both", () => {
    expect(mergeTemplateConfig(version, { userData: "#cloud-config\n" }, lookup).userData).to.equal("#cloud-config\n");
    expect(mergeTemplateConfig(version, { userDataAppend: "echo mine\n" }, lookup).userData).to.equal(
      "#!/bin/sh\necho base\necho mine\n",
    );
    expect(invalid(() => mergeTemplateConfig(version, { userData: "a", userDataAppend: "b" }, lookup)).field).to.equal(
      "user_data_append",
    );
  });

  it("lets user tags win per key", () => {
    expect(mergeTemplateConfig(version, { tags: { env: "prod", owner: "me" } }, lookup).tags).to.deep.equal({
      team: "dev",
      env: "prod",
      owner: "me",
    });
  });

  it("refuses non-positive or fractional resources, naming the field", () => {
    expect(invalid(() => mergeTemplateConfig(version, { cpuCores: 0 }, lookup)).field).to.equal("cpu_cores");
    expect(invalid(() => mergeTemplateConfig(version, { memoryGb: 1.5 }, lookup)).field).to.equal("memory_gb");
    expect(invalid(() => mergeTemplateConfig(version, { gpuCount: -1 }, lookup)).field).to.equal("gpu_count");
    expect(invalid(() => mergeTemplateConfig(version, { bandwidthGbps: 0 }, lookup)).field).to.equal("bandwidth_gbps");
    expect(mergeTemplateConfig(version, { gpuCount: 0 }, lookup).gpuCount).to.equal(0);
  });
});
