import { expect } from "chai";
import { ADVISORY_LOCK_KEYS, SCOPED_LOCK_NAMESPACES } from "../../hub/db/advisory-lock-keys.js";

describe("advisory-lock key registry", () => {
  it("gives every lock a distinct 32-bit key", () => {
    const keys = Object.values(ADVISORY_LOCK_KEYS);
    expect(new Set(keys).size).to.equal(keys.length);
    for (const key of keys) expect(Number.isInteger(key) && key > 0 && key < 2 ** 31).to.equal(true);
  });

  it("gives every scoped lock a distinct namespace", () => {
    const names = Object.values(SCOPED_LOCK_NAMESPACES);
    expect(new Set(names).size).to.equal(names.length);
  });
});
