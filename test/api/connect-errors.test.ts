import { expect } from "chai";
import { Code, ConnectError } from "@connectrpc/connect";
import { QuotaExceededSchema } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { toConnectError } from "../../hub/api/connect-errors.js";
import { InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "../../hub/domain/errors.js";

describe("domain error → Connect code mapping", () => {
  it("maps typed domain errors to their codes, keeping the message and the cause", () => {
    const invalid = new InvalidArgumentError("tenant.name", "must not be empty");
    const mapped = toConnectError(invalid)!;
    expect(mapped.code).to.equal(Code.InvalidArgument);
    expect(mapped.rawMessage).to.equal("Invalid tenant.name: must not be empty");
    expect(mapped.cause).to.equal(invalid);
    expect(toConnectError(new NotFoundError("tenant", "t1"))!.code).to.equal(Code.NotFound);
  });

  it("attaches every exceeded quota dimension as a QuotaExceeded detail", () => {
    const err = new ResourceExhaustedError("Quota exceeded", [
      { dimension: "bandwidth_gbps", used: 8, requested: 3, limit: 10, scope: "tenant t1" },
      { dimension: "cpu_cores", used: 30, requested: 4, limit: 32, scope: "user u1" },
    ]);
    const mapped = toConnectError(err)!;
    expect(mapped.code).to.equal(Code.ResourceExhausted);
    const [detail] = ConnectError.from(mapped).findDetails(QuotaExceededSchema);
    expect(detail!.dimensions.map((d) => [d.dimension, d.used, d.requested, d.limit, d.scope])).to.deep.equal([
      ["bandwidth_gbps", 8, 3, 10, "tenant t1"],
      ["cpu_cores", 30, 4, 32, "user u1"],
    ]);
  });

  it("translates database constraint errors a store did not, and leaves unknown errors to the caller", () => {
    const unique = Object.assign(new Error("duplicate key"), { code: "23505", constraint: "users_username_live" });
    const mapped = toConnectError(unique)!;
    expect(mapped.code).to.equal(Code.AlreadyExists);
    expect(mapped.rawMessage).to.contain("users_username_live");
    expect(toConnectError(new Error("boom"))).to.equal(undefined);
  });
});
