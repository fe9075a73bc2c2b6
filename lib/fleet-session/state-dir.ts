import fs from "node:fs";
import path from "node:path";

/** What an enrolled agent keeps: its key, the certificate the hub signed and the hub CA it trusts. */
export interface StoredIdentity {
  readonly agentId: string;
  readonly role: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

/** The agent's state directory: identity files (written atomically, key 0600) and the command journal. */
export class StateDir {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  get journalFile(): string {
    return path.join(this.dir, "finished-commands.jsonl");
  }

  loadIdentity(): StoredIdentity | undefined {
    const file = path.join(this.dir, "agent.json");
    if (!fs.existsSync(file)) return undefined;
    const meta = JSON.parse(fs.readFileSync(file, "utf8")) as { agentId: string; role: string };
    return {
      agentId: meta.agentId,
      role: meta.role,
      keyPem: fs.readFileSync(path.join(this.dir, "agent.key"), "utf8"),
      certPem: fs.readFileSync(path.join(this.dir, "agent.crt"), "utf8"),
      caPem: fs.readFileSync(path.join(this.dir, "hub-ca.crt"), "utf8"),
    };
  }

  /** agent.json is written last, so a crash mid-way leaves no half identity that looks complete. */
  saveIdentity(identity: StoredIdentity): void {
    this.writeAtomic("agent.key", identity.keyPem, 0o600);
    this.writeAtomic("agent.crt", identity.certPem, 0o644);
    this.writeAtomic("hub-ca.crt", identity.caPem, 0o644);
    this.writeAtomic(
      "agent.json",
      `${JSON.stringify({ agentId: identity.agentId, role: identity.role }, null, 2)}\n`,
      0o644,
    );
  }

  private writeAtomic(name: string, content: string, mode: number): void {
    const target = path.join(this.dir, name);
    const tmp = `${target}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, content, { mode });
    fs.renameSync(tmp, target);
  }
}
