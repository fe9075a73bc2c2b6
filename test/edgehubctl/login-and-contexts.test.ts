import { expect } from "chai";
import fs from "node:fs";
import YAML from "yaml";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { EXIT } from "../../edgehubctl/exit-codes.js";
import { createCtlHome, type CtlHome } from "../support/edgehubctl-process.js";
import { startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from "../support/test-hub.js";

interface ConfigDoc {
  currentContext?: string;
  contexts: Record<string, { hub: string; username?: string; token?: string }>;
}

describe("edgehubctl: login, contexts, whoami, logout", function () {
  // Every run of the binary starts Node with tsx (about 1.5 s of CPU): on a loaded machine a test
  // running several can pass mocha\'s default 60 s, so these tests get more room (no timing asserted).
  this.timeout(180_000);
  let t: TestHub;
  let home: CtlHome;
  let first: string;
  const readConfig = () => YAML.parse(fs.readFileSync(home.configFile, "utf8")) as ConfigDoc;

  before(async () => {
    t = await startTestHub();
    home = createCtlHome();
    first = new URL(t.baseUrl).host;
  });
  after(async () => {
    home?.remove();
    await t?.stop();
  });

  it("asks for the password on a terminal without echoing it, stores hub and token in a 0600 file, and whoami answers", async () => {
    const login = home.runInPty(["login", "--hub", t.baseUrl]);
    await login.waitFor(/Password for admin@http:\/\/127\.0\.0\.1:\d+: $/);
    login.write(`${TEST_ADMIN_PASSWORD}\r`);
    expect(await login.exited, login.output()).to.equal(0);
    expect(login.output()).to.include(`Logged in to ${t.baseUrl} as admin (admin); context "${first}" is current`);
    expect(login.output()).to.not.include(TEST_ADMIN_PASSWORD);
    expect(fs.statSync(home.configFile).mode & 0o777).to.equal(0o600);
    const config = readConfig();
    expect(config.currentContext).to.equal(first);
    expect(config.contexts[first]).to.include({ hub: t.baseUrl, username: "admin" });
    expect(config.contexts[first]!.token).to.match(/^ehb_/);
    const who = await home.run(["whoami"]);
    expect(who.code, who.stderr).to.equal(0);
    expect(who.stdout).to.match(
      new RegExp(`^Context: ${first} \\(${t.baseUrl}\\)\\nUSERNAME\\s+ROLE\\s*\\nadmin\\s+ADMIN\\s*$`, "m"),
    );
  });

  it("reads --password-stdin through a pipe into a second named context; use-context switches back", async () => {
    const second = await home.run(
      ["login", "--hub", t.baseUrl, "--password-stdin", "--name", "second"],
      `${TEST_ADMIN_PASSWORD}\n`,
    );
    expect(second.code, second.stderr).to.equal(0);
    const listed = await home.run(["config", "get-contexts"]);
    expect(listed.stdout)
      .to.match(new RegExp(`^\\s+${first}\\s+${t.baseUrl}\\s+admin\\s+yes$`, "m"))
      .and.match(new RegExp(`^\\*\\s+second\\s+${t.baseUrl}\\s+admin\\s+yes$`, "m"));
    const use = await home.run(["config", "use-context", first]);
    expect(use.code).to.equal(0);
    expect(readConfig().currentContext).to.equal(first);
    const unknown = await home.run(["config", "use-context", "nope"]);
    expect(unknown.code).to.equal(EXIT.USAGE);
    expect(unknown.stderr).to.include('No context "nope"');
  });

  it("refuses a wrong password (exit 4), a missing terminal without --password-stdin (exit 2) and an unreachable hub (exit 6)", async () => {
    const [wrong, noTty, unreachable] = await Promise.all([
      home.run(["login", "--hub", t.baseUrl, "--password-stdin", "--name", "wrong"], "not-the-password\n"),
      home.run(["login", "--hub", t.baseUrl, "--name", "no-tty"]),
      home.run(["login", "--hub", "http://127.0.0.1:1", "--password-stdin", "--name", "down"], "whatever\n"),
    ]);
    expect(wrong.code).to.equal(EXIT.PERMISSION);
    expect(wrong.stderr).to.match(/^Error: unauthenticated: /m);
    expect(noTty.code).to.equal(EXIT.USAGE);
    expect(noTty.stderr).to.include("use --password-stdin");
    expect(unreachable.code).to.equal(EXIT.UNAVAILABLE);
    expect(unreachable.stderr).to.match(/^Error: unavailable: /m);
    expect(Object.keys(readConfig().contexts).sort()).to.deep.equal([first, "second"].sort());
  });

  it("logout revokes the token on the hub and forgets it; the next command says to log in (exit 4)", async () => {
    const token = readConfig().contexts[first]!.token!;
    const out = await home.run(["logout"]);
    expect(out.code, out.stderr).to.equal(0);
    expect(readConfig().contexts[first]!.token).to.equal(undefined);
    const who = await t
      .client(AuthService, token)
      .whoAmI({})
      .catch((e: unknown) => e);
    expect(who).to.be.instanceOf(ConnectError);
    expect((who as ConnectError).code).to.equal(Code.Unauthenticated);
    const after = await home.run(["get", "users"]);
    expect(after.code).to.equal(EXIT.PERMISSION);
    expect(after.stderr).to.include(`Not logged in to ${t.baseUrl}`);
  });
});
