import type { CreateJoinTokenResponse } from "../gen/edgehub/admin/v1/fleet_pb.js";
import type { CreateExtension } from "./create-extensions.js";
import { UsageError } from "./usage-error.js";

const AGENT_PORT = 9443;

/** The agent endpoint to print: --agent-hub, else the admin URL's host on the default agent port. */
function agentHub(hubUrl: string, flag: unknown): string {
  if (typeof flag === "string" && flag) {
    if (!/^[^:\s]+:\d{1,5}$/.test(flag)) throw new UsageError(`Invalid value for --agent-hub: "${flag}" (host:port)`);
    return flag;
  }
  return `${new URL(hubUrl).hostname}:${AGENT_PORT}`;
}

/**
 * `token create` prints the secret (shown once by the hub) and the command that enrolls an agent
 * with it, so the next step is a copy and paste.
 */
export const joinTokenNextStep: CreateExtension = {
  options(cmd) {
    cmd.option(
      "--agent-hub <host:port>",
      `the hub's agent endpoint to print in the agent command (default: the hub's host, port ${AGENT_PORT})`,
    );
  },
  after(response, opts, session) {
    const r = response as CreateJoinTokenResponse;
    const hub = agentHub(session.context.hub, opts.agentHub);
    return [
      "",
      `Join token (shown once): ${r.token}`,
      `Hub CA fingerprint (sha256): ${r.caFingerprintSha256}`,
      "",
      "Start the agent on the machine:",
      `  edgehub-agent --hub ${hub} --join-token ${r.token}`,
      "",
    ].join("\n");
  },
};
