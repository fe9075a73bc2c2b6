import { expect } from "chai";
import { Code, ConnectError } from "@connectrpc/connect";
import { QuotaDimension, QuotaExceededSchema, QuotaHolderType } from "../../gen/edgehub/admin/v1/quota_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ERROR_DOMAIN, toConnectError } from "../../hub/api/connect-errors.js";
import {
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from "../../hub/domain/errors.js";
// The quota feature registers how its shortfalls become QuotaExceeded (the hub loads it with its services).
import "../../hub/quota/quota-enums.js";

/** What a client sees: the error after a round trip through Connect's detail encoding. */
const onWire = (err: unknown) => ConnectError.from(toConnectError(err)!);

describe("domain error → Connect code mapping", () => {
  it("maps typed domain errors to their codes, keeping the message and the cause", () => {
    const invalid = new InvalidArgumentError("tenant.name", "must not be empty");
    const mapped = toConnectError(invalid)!;
    expect(mapped.code).to.equal(Code.InvalidArgument);
    expect(mapped.rawMessage).to.equal("Invalid tenant.name: must not be empty");
    expect(mapped.cause).to.equal(invalid);
    expect(toConnectError(new NotFoundError("tenant", "t1"))!.code).to.equal(Code.NotFound);
  });

  it("InvalidArgumentError carries a BadRequest field violation naming the field", () => {
    const err = onWire(new InvalidArgumentError("user.email", "must contain @"));
    const [bad] = err.findDetails(BadRequestSchema);
    expect(bad!.fieldViolations.map((v) => [v.field, v.description])).to.deep.equal([
      ["user.email", "Invalid user.email: must contain @"],
    ]);
    expect(err.findDetails(ErrorInfoSchema)).to.deep.equal([]);
  });

  it("FailedPreconditionError and ConflictError carry ErrorInfo with their reason, the hub's domain and metadata", () => {
    const pre = onWire(
      new FailedPreconditionError("Cannot lower the quota", {
        reason: "QUOTA_BELOW_USAGE",
        metadata: { holder_type: "user" },
      }),
    );
    expect(pre.code).to.equal(Code.FailedPrecondition);
    const [info] = pre.findDetails(ErrorInfoSchema);
    expect([info!.reason, info!.domain, info!.metadata]).to.deep.equal([
      "QUOTA_BELOW_USAGE",
      ERROR_DOMAIN,
      { holder_type: "user" },
    ]);
    expect(ERROR_DOMAIN).to.equal("edgehub.io");

    const conflict = onWire(
      new ConflictError("Cannot update quota of user u1: stale etag", { reason: "ETAG_MISMATCH" }),
    );
    expect(conflict.code).to.equal(Code.Aborted);
    expect(conflict.findDetails(ErrorInfoSchema).map((d) => [d.reason, d.domain])).to.deep.equal([
      ["ETAG_MISMATCH", "edgehub.io"],
    ]);
    expect(conflict.findDetails(BadRequestSchema)).to.deep.equal([]);
  });

  it("ResourceExhaustedError carries ErrorInfo and every exceeded quota dimension as QuotaExceeded", () => {
    const err = onWire(
      new ResourceExhaustedError("Quota exceeded", {
        reason: "QUOTA_EXCEEDED",
        exceeded: [
          { dimension: "bandwidth_gbps", used: 8, requested: 3, limit: 10, holderType: "tenant", holderId: "t1" },
          { dimension: "cpu_cores", used: 30, requested: 4, limit: 32, holderType: "group", holderId: "g1" },
        ],
      }),
    );
    expect(err.code).to.equal(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema).map((d) => [d.reason, d.domain])).to.deep.equal([
      ["QUOTA_EXCEEDED", "edgehub.io"],
    ]);
    const [detail] = err.findDetails(QuotaExceededSchema);
    expect(
      detail!.dimensions.map((d) => [d.dimension, d.used, d.requested, d.limit, d.holderType, d.holderId]),
    ).to.deep.equal([
      [QuotaDimension.BANDWIDTH_GBPS, 8, 3, 10, QuotaHolderType.TENANT, "t1"],
      [QuotaDimension.CPU_CORES, 30, 4, 32, QuotaHolderType.USER_GROUP, "g1"],
    ]);
  });

  it("a ResourceExhaustedError that is not about quota (a finite pool) has ErrorInfo only", () => {
    const err = onWire(new ResourceExhaustedError("No VLAN left", { reason: "VLAN_POOL_EXHAUSTED" }));
    expect(err.findDetails(ErrorInfoSchema).map((d) => d.reason)).to.deep.equal(["VLAN_POOL_EXHAUSTED"]);
    expect(err.findDetails(QuotaExceededSchema)).to.deep.equal([]);
  });

  it("translates database constraint errors a store did not, quoting no database text, and leaves unknown errors to the caller", () => {
    const unique = Object.assign(new Error("duplicate key value violates unique constraint"), {
      code: "23505",
      constraint: "users_username_live",
    });
    const mapped = onWire(unique);
    expect(mapped.code).to.equal(Code.AlreadyExists);
    expect(mapped.rawMessage).to.not.contain("duplicate key value");
    expect(mapped.findDetails(ErrorInfoSchema).map((d) => [d.reason, d.domain])).to.deep.equal([
      ["DUPLICATE", "edgehub.io"],
    ]);
    expect(toConnectError(new Error("boom"))).to.equal(undefined);
  });
});
