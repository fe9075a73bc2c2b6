import { expect } from "chai";
import { generateKeyPairSync, createHash, sign } from "node:crypto";
import { pickPercentage, parseRolloutTag } from "../../hub/firmware/rollout-targets.js";
import { verificationFailure } from "../../cloudbox-firmware-client/firmware/firmware-verify.js";
import { FirmwareSigningKey, verifyDigestSignature } from "../../hub/firmware/firmware-signing-key.js";
import { newId } from "../../hub/db/ids.js";

describe("firmware rollout targets", () => {
  const fleet = Array.from({ length: 40 }, () => newId());

  it("a larger percentage of the same fleet contains the smaller one (the canary is extended, not redrawn)", () => {
    const ten = pickPercentage(fleet, 10);
    const fifty = pickPercentage(fleet, 50);
    const all = pickPercentage(fleet, 100);
    expect(ten).to.have.length(4);
    expect(fifty).to.have.length(20);
    expect(all).to.have.members(fleet);
    expect(fifty).to.include.members(ten);
    // The order depends on the ids only, not on the order they are given in.
    expect(pickPercentage([...fleet].reverse(), 10)).to.deep.equal(ten);
  });

  it("picks at least one box and none from an empty fleet", () => {
    expect(pickPercentage(fleet.slice(0, 3), 1)).to.have.length(1);
    expect(pickPercentage([], 50)).to.deep.equal([]);
  });

  it("reads key=value and bare key tags", () => {
    expect(parseRolloutTag("ring=canary")).to.deep.equal({ key: "ring", value: "canary" });
    expect(parseRolloutTag("lab")).to.deep.equal({ key: "lab", value: undefined });
    expect(parseRolloutTag("a=b=c")).to.deep.equal({ key: "a", value: "b=c" });
  });
});

describe("firmware signatures (hub signs, box verifies)", () => {
  const { privateKey } = generateKeyPairSync("ed25519");
  const key = FirmwareSigningKey.fromPem(privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  const sha = createHash("sha256").update("firmware bytes").digest("hex");

  it("a box accepts the hub's signature over the digest it computed", () => {
    const signature = key.signDigest(sha);
    expect(verifyDigestSignature(key.publicKeyPem, sha, signature)).to.equal(true);
    expect(verificationFailure({ sha256: sha, signature }, sha, key.publicKeyPem)).to.equal(undefined);
  });

  it("a box refuses other bytes, another key's signature and garbage", () => {
    const signature = key.signDigest(sha);
    const other = createHash("sha256").update("tampered bytes").digest("hex");
    expect(verificationFailure({ sha256: sha, signature }, other, key.publicKeyPem)).to.match(/^sha256 mismatch/);
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const forged = sign(null, Buffer.from(sha, "hex"), stranger).toString("base64");
    expect(verificationFailure({ sha256: sha, signature: forged }, sha, key.publicKeyPem)).to.match(
      /^signature mismatch/,
    );
    expect(verificationFailure({ sha256: sha, signature: "not base64!" }, sha, key.publicKeyPem)).to.match(
      /^signature mismatch/,
    );
    // A signature of the digest by the right key over other bytes does not carry over.
    expect(verificationFailure({ sha256: other, signature }, other, key.publicKeyPem)).to.match(/^signature mismatch/);
  });
});
