import { Command } from "commander";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { Role } from "../../gen/edgehub/admin/v1/role_pb.js";
import type { CliContext } from "../cli-context.js";
import { isTty } from "../cli-io.js";
import { withExamples } from "../command-examples.js";
import { writeConfig } from "../config-file.js";
import { hubTransport } from "../hub-session.js";
import { promptPassword, readStdinLine } from "../password-prompt.js";
import { UsageError } from "../usage-error.js";

interface LoginOptions {
  hub?: string;
  username: string;
  tenant: string;
  passwordStdin?: boolean;
  name?: string;
}

/** The context name for a hub URL: its host and port. */
function contextNameOf(hub: string): string {
  const url = new URL(hub);
  return url.port ? `${url.hostname}:${url.port}` : url.hostname;
}

function normalizeHub(value: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(value) ? value : `http://${value}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("http or https only");
    return url.origin;
  } catch (err) {
    throw new UsageError(`Invalid value for --hub: "${value}" (${(err as Error).message})`);
  }
}

/**
 * `login --hub URL`: asks for the password without echo (or reads --password-stdin), logs in with
 * AuthService.Login and stores hub + token in a context of the config file (0600), made current.
 */
export function loginCommand(ctx: CliContext): Command {
  const cmd = new Command("login")
    .description("Log in to a hub and remember it as a context")
    .option("--hub <url>", "the hub's admin API, e.g. http://hub.example:8080 (default: the current context's)")
    .option("-u, --username <name>", "user name", "admin")
    .option("--tenant <name>", "tenant name (empty for admin and operator)", "")
    .option("--password-stdin", "read the password from the first line of stdin")
    .option("--name <context>", "name of the context to store (default: host:port of the hub)");
  withExamples(cmd, [
    "edgehubctl login --hub http://localhost:8080",
    'echo "$HUB_ADMIN_PASSWORD" | edgehubctl login --hub http://localhost:8080 --password-stdin',
    "edgehubctl login --hub https://hub.site-b.example --username ops --name site-b",
  ]);
  cmd.action(async (opts: LoginOptions) => {
    const file = ctx.configFile(cmd);
    const config = ctx.config(cmd);
    const current = config.currentContext ? config.contexts[config.currentContext] : undefined;
    const hubArg = opts.hub ?? current?.hub;
    if (!hubArg) throw new UsageError("Give the hub: edgehubctl login --hub URL");
    const hub = normalizeHub(hubArg);
    let password: string;
    if (opts.passwordStdin) password = await readStdinLine(ctx.io);
    else if (isTty(ctx.io.stdin)) password = await promptPassword(ctx.io, `Password for ${opts.username}@${hub}: `);
    else throw new UsageError("No terminal to ask for the password on: use --password-stdin");
    if (!password) throw new UsageError("Empty password");
    const auth = createClient(AuthService, await hubTransport(hub));
    const res = await auth.login({ username: opts.username, password, tenant: opts.tenant });
    const name = opts.name ?? contextNameOf(hub);
    config.contexts[name] = {
      hub,
      username: opts.username,
      token: res.token,
      ...(res.expireTime ? { expireTime: timestampDate(res.expireTime).toISOString() } : {}),
    };
    config.currentContext = name;
    writeConfig(file, config);
    const role = res.principal ? (Role[res.principal.role] ?? "").toLowerCase() : "";
    ctx.io.stdout.write(
      `Logged in to ${hub} as ${opts.username}${role ? ` (${role})` : ""}; context "${name}" is current\n`,
    );
  });
  return cmd;
}
