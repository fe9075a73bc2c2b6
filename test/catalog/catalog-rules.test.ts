import { expect } from "chai";
import { FailedPreconditionError, InvalidArgumentError } from "../../hub/domain/errors.js";
import { bumpPatch, compareSemver, parseSemver } from "../../hub/catalog/semver.js";
import {
  assertTagMovable,
  assertTagTarget,
  parseImageReference,
  tagKindOf,
  validateTagName,
} from "../../hub/catalog/image-tag-rules.js";
import {
  ImageRequirementsNotMetError,
  checkImageRequirements,
  requirementShortfalls,
  validateImageRequirements,
  NO_REQUIREMENTS,
} from "../../hub/catalog/image-requirements.js";
import { addUtcMonths, assertArchivable, assertRollbackTarget } from "../../hub/catalog/image-version-rules.js";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("catalog rules (pure)", () => {
  describe("semver", () => {
    it("parses vMAJOR.MINOR.PATCH and orders numerically, not as text", () => {
      const a = parseSemver("v", "v1.10.0");
      const b = parseSemver("v", "v1.9.3");
      expect(a).to.deep.equal({ major: 1, minor: 10, patch: 0, text: "v1.10.0" });
      expect(compareSemver(a, b)).to.be.greaterThan(0);
      expect(bumpPatch(b).text).to.equal("v1.9.4");
    });

    const bad: [string, string][] = [
      ["", "is required"],
      ["1.2.3", `must start with "v"`],
      ["v1.2", "must be vMAJOR.MINOR.PATCH with three non-negative integers"],
      ["v1.2.3-rc1", "must be vMAJOR.MINOR.PATCH with three non-negative integers"],
      ["v01.2.3", "leading zero"],
      ["v1.2.99999999999", "above 2147483647"],
      ["V1.2.3", `must start with "v"`],
    ];
    for (const [text, why] of bad) {
      it(`refuses "${text}" naming the field: ${why}`, () => {
        const err = thrown(() => parseSemver("version_number", text));
        expect(err).to.be.instanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).field).to.equal("version_number");
        expect(err.message).to.contain(why);
      });
    }
  });

  describe("tags", () => {
    it("classifies system, version and custom tags", () => {
      expect(["latest", "stable", "dev", "lts"].map(tagKindOf)).to.deep.equal(["system", "system", "system", "system"]);
      expect(tagKindOf("v1.0.0")).to.equal("version");
      expect(tagKindOf("production")).to.equal("custom");
      expect(tagKindOf("golden-image")).to.equal("custom");
      expect(tagKindOf("v1.0")).to.equal("custom");
    });

    for (const [name, why] of [
      ["", "is required"],
      ["Prod", "lower-case"],
      ["-x", "start with a letter"],
      ["a b", "lower-case"],
      ["x".repeat(51), "longer than 50"],
    ] as const) {
      it(`refuses tag name "${name.slice(0, 12)}": ${why}`, () => {
        const err = thrown(() => validateTagName("tag_name", name));
        expect(err).to.be.instanceOf(InvalidArgumentError);
        expect(err.message).to.contain("tag_name").and.to.contain(why);
      });
    }

    it("refuses re-pointing or deleting an immutable tag, allows a no-op and mutable moves", () => {
      const versionTag = { tagName: "v1.0.0", isImmutable: true, versionId: "a" };
      const err = thrown(() => assertTagMovable(versionTag, "b"));
      expect(err).to.be.instanceOf(FailedPreconditionError);
      expect(err.message).to.equal("Cannot re-point tag v1.0.0: version tags are immutable");
      expect((err as FailedPreconditionError).reason).to.equal("TAG_IMMUTABLE");
      expect(thrown(() => assertTagMovable(versionTag, null)).message).to.contain("Cannot delete tag v1.0.0");
      expect(() => assertTagMovable(versionTag, "a")).not.to.throw();
      expect(() => assertTagMovable({ tagName: "latest", isImmutable: false, versionId: "a" }, "b")).not.to.throw();
    });

    it("refuses pointing a mutable tag at a deprecated version", () => {
      expect(
        thrown(() => assertTagTarget("stable", { versionNumber: "v1.0.0", status: "deprecated" })).message,
      ).to.contain("the version is deprecated");
    });

    it("splits name:tag with latest as the default tag", () => {
      expect(parseImageReference("reference", "ubuntu-server:production")).to.deep.equal({
        imageName: "ubuntu-server",
        tag: "production",
      });
      expect(parseImageReference("reference", "ubuntu-server")).to.deep.equal({
        imageName: "ubuntu-server",
        tag: "latest",
      });
      expect(thrown(() => parseImageReference("reference", "ubuntu:")).message).to.contain("empty tag");
      expect(thrown(() => parseImageReference("reference", ":v1.0.0")).message).to.contain("no image name");
    });
  });

  describe("image requirements", () => {
    const req = {
      minCpuCores: 2,
      minMemoryGb: 4,
      minStorageGb: 20,
      recommendedCpuCores: 4,
      recommendedMemoryGb: 8,
      recommendedStorageGb: 50,
      hypervisorCompatibility: ["kvm" as const],
    };

    it("accepts a spec at the minimum", () => {
      expect(() =>
        checkImageRequirements("ubuntu v1.0.0", { cpuCores: 2, memoryGb: 4, storageGb: 20, hypervisor: "kvm" }, req),
      ).not.to.throw();
      expect(requirementShortfalls({ cpuCores: 1, memoryGb: 1, storageGb: 1 }, NO_REQUIREMENTS)).to.deep.equal([]);
    });

    it("names each short dimension with the minimum and the recommended value", () => {
      const err = thrown(() =>
        checkImageRequirements("ubuntu v1.0.0", { cpuCores: 1, memoryGb: 4, storageGb: 10, hypervisor: "vmware" }, req),
      );
      expect(err).to.be.instanceOf(ImageRequirementsNotMetError).and.instanceOf(FailedPreconditionError);
      expect((err as ImageRequirementsNotMetError).shortfalls).to.deep.equal([
        { dimension: "cpu_cores", requested: 1, minimum: 2, recommended: 4 },
        { dimension: "storage_gb", requested: 10, minimum: 20, recommended: 50 },
        { dimension: "hypervisor", requested: "vmware", supported: ["kvm"] },
      ]);
      expect((err as ImageRequirementsNotMetError).reason).to.equal("IMAGE_REQUIREMENTS_NOT_MET");
      expect(err.message).to.equal(
        "Cannot use image ubuntu v1.0.0: cpu_cores 1 is below the minimum 2 (recommended 4); storage_gb 10 is below the minimum 20 (recommended 50); hypervisor vmware is not supported (supported: kvm)",
      );
    });

    it("validates requirements: recommended not below minimum, integers, hypervisor names", () => {
      expect(thrown(() => validateImageRequirements({ ...req, recommendedMemoryGb: 2 })).message).to.equal(
        "Invalid requirements.recommended_memory_gb: 2 is below min_memory_gb 4",
      );
      expect(thrown(() => validateImageRequirements({ ...req, minCpuCores: -1 })).message).to.contain("min_cpu_cores");
      const twice = thrown(() => validateImageRequirements({ ...req, hypervisorCompatibility: ["kvm", "kvm"] }));
      expect((twice as InvalidArgumentError).field).to.equal("requirements.hypervisor_compatibility[1]");
      expect(twice.message).to.contain("listed twice");
    });
  });

  describe("version lifecycle rules", () => {
    const deprecatedAt = new Date("2026-01-31T10:00:00Z");

    it("adds calendar months, clamping to the month end", () => {
      expect(addUtcMonths(new Date("2026-08-31T00:00:00Z"), 6).toISOString()).to.equal("2027-02-28T00:00:00.000Z");
      expect(addUtcMonths(deprecatedAt, 6).toISOString()).to.equal("2026-07-31T10:00:00.000Z");
    });

    it("archives only deprecated, unused versions deprecated at least 6 months ago", () => {
      const v = { versionNumber: "v1.0.0", status: "deprecated" as const, deprecatedAt };
      const eligible = new Date("2026-07-31T10:00:00Z");
      expect(() => assertArchivable(v, 0, eligible)).not.to.throw();
      expect(thrown(() => assertArchivable(v, 0, new Date(eligible.getTime() - 1))).message).to.contain(
        "can be archived from 2026-07-31T10:00:00.000Z",
      );
      expect(thrown(() => assertArchivable(v, 3, eligible)).message).to.equal(
        "Cannot archive image version v1.0.0: 3 instance(s) still use it",
      );
      expect((thrown(() => assertArchivable(v, 3, eligible)) as FailedPreconditionError).reason).to.equal(
        "VERSION_IN_USE",
      );
      expect(
        thrown(() => assertArchivable({ ...v, status: "active", deprecatedAt: null }, 0, eligible)).message,
      ).to.contain("only a deprecated version");
    });

    it("rolls back only to an older active version", () => {
      expect(() =>
        assertRollbackTarget({ versionNumber: "v2.0.0" }, { versionNumber: "v1.1.0", status: "active" }),
      ).not.to.throw();
      expect(
        thrown(() => assertRollbackTarget({ versionNumber: "v2.0.0" }, { versionNumber: "v2.1.0", status: "active" }))
          .message,
      ).to.contain("not older");
      expect(
        thrown(() =>
          assertRollbackTarget({ versionNumber: "v2.0.0" }, { versionNumber: "v1.0.0", status: "deprecated" }),
        ).message,
      ).to.contain("it is deprecated");
      expect(
        thrown(() => assertRollbackTarget(undefined, { versionNumber: "v1.0.0", status: "active" })).message,
      ).to.contain("no latest");
    });
  });
});
