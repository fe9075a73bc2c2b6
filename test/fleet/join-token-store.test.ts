import { expect } from "chai";
import { newJoinTokenSecret } from "../../lib/join-token/join-token.js";
import { newId } from "../../hub/db/ids.js";
import {
  consumeJoinToken,
  createJoinToken,
  JoinTokenRefusedError,
  revokeJoinToken,
} from "../../hub/fleet/join-token-store.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

describe("join token store: why an enrollment is refused", function () {
  this.timeout(60_000);
  let t: TestDatabase;
  let dc: string;
  before(async () => {
    t = await createTestDatabase();
    dc = newId();
    await t.db.knex("edge_data_centers").insert({ id: dc, name: "tokens-dc" });
  });
  after(async () => t?.drop());

  const mint = (maxUses: number, ttlSeconds: number, now: Date) =>
    t.db.knex.transaction((trx) =>
      createJoinToken(trx, {
        role: "cloud_box",
        edgeDataCenterId: dc,
        computePoolId: null,
        machineType: null,
        ttlSeconds,
        maxUses,
        description: "",
        createdBy: null,
        now,
      }),
    );

  async function reasonOf(secret: string, at: Date): Promise<string> {
    try {
      await t.db.knex.transaction((trx) => consumeJoinToken(trx, secret, at));
    } catch (err) {
      expect(err).to.be.instanceOf(JoinTokenRefusedError);
      expect((err as JoinTokenRefusedError).code).to.equal("permission_denied");
      return (err as JoinTokenRefusedError).reason;
    }
    return "accepted";
  }

  it("names the reason: unknown, revoked, expired, exhausted", async () => {
    const now = new Date();
    const once = await mint(1, 600, now);
    expect(await reasonOf(once.secret, now)).to.equal("accepted");
    expect(await reasonOf(once.secret, now)).to.equal("TOKEN_EXHAUSTED");
    const short = await mint(5, 1, now);
    expect(await reasonOf(short.secret, new Date(now.getTime() + 2000))).to.equal("TOKEN_EXPIRED");
    const revoked = await mint(5, 600, now);
    await t.db.knex.transaction((trx) => revokeJoinToken(trx, revoked.token.id, now));
    expect(await reasonOf(revoked.secret, now)).to.equal("TOKEN_REVOKED");
    expect(await reasonOf(newJoinTokenSecret(), now)).to.equal("TOKEN_UNKNOWN");
  });
});
