import { fn, koffi, virDomainPtr } from "./bindings.js";
import type { DomainHandle, LentConnection } from "./connection.js";
import type { ConnectionRunner } from "./libvirt-link.js";
import { isActive, reasonName, stateName, type DomainStateName } from "./domain-state.js";
import { readDomainXml, type DomainXmlFacts } from "./domain-xml-read.js";
import { graphicsPasswordXml } from "./domain-xml.js";
import { isLibvirtError, LibvirtError, VIR_ERR } from "./errors.js";

type KoffiFn = Parameters<LentConnection["call"]>[1];
const f = fn as unknown as Record<keyof typeof fn, KoffiFn>;

const XML_SECURE = 1;
const XML_INACTIVE = 2;
const DEFINE_VALIDATE = 1;
const AFFECT_LIVE = 1;
const AFFECT_CONFIG = 2;
// Remove what libvirt keeps beside the definition, so a later define with the same name starts clean.
const UNDEFINE_FLAGS = 1 /* MANAGED_SAVE */ | 2 /* SNAPSHOTS_METADATA */ | 4 /* NVRAM */ | 16; /* CHECKPOINTS */

/** What the agent knows about one domain; `state` "absent" when the host does not have it. */
export interface DomainFacts extends DomainXmlFacts {
  name: string;
  uuid: string;
  state: DomainStateName;
  reason: string;
}

export function absentDomain(name: string): DomainFacts {
  return {
    name,
    uuid: "",
    state: "absent",
    reason: "",
    graphics: undefined,
    serialLogPath: "",
    overlayPath: "",
    instanceId: "",
  };
}

export interface ShutdownOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** How often the state is read while waiting for the guest to power off. */
  pollMs?: number;
}

/**
 * Idempotent domain operations by name. Each runs on one pooled connection (see connection.ts);
 * "already in that state" is success, a missing domain is a LibvirtError with code NO_DOMAIN (42).
 */
export class DomainOps {
  /** Instance ids by domain uuid, from every domain XML read: lifecycle events name the instance without a call. */
  readonly instanceIds = new Map<string, string>();

  constructor(readonly conn: ConnectionRunner) {}

  private lookup(c: LentConnection, name: string): Promise<DomainHandle> {
    return c.domain(`Cannot find domain ${name}`, f.virDomainLookupByName, name);
  }

  private async stateOf(c: LentConnection, d: DomainHandle): Promise<{ state: DomainStateName; reason: string }> {
    const s = [0];
    const r = [0];
    await c.callDomain(`Cannot read the state of domain ${d.name()}`, d, f.virDomainGetState, s, r, 0);
    return { state: stateName(s[0]!), reason: reasonName(s[0]!, r[0]!) };
  }

  /**
   * The domain's state and what its XML says. `known` skips reads the caller can vouch for: the state
   * an operation just produced, or the XML just defined. With `configOnly` (an inactive domain, whose
   * XML carries no live console port) the facts this agent last read for the domain are reused.
   */
  private async factsOf(
    c: LentConnection,
    d: DomainHandle,
    known: { state?: { state: DomainStateName; reason: string }; definedXml?: string; configOnly?: boolean } = {},
  ): Promise<DomainFacts> {
    const name = d.name();
    const uuid = d.uuid();
    const { state, reason } = known.state ?? (await this.stateOf(c, d));
    const cached = known.configOnly && !isActive(state) ? this.configFacts.get(uuid) : undefined;
    let facts: DomainXmlFacts;
    if (cached) facts = { ...cached, graphics: cached.graphics && { ...cached.graphics } };
    else {
      const xml =
        known.definedXml ??
        (await c.callDomain<string>(`Cannot read the XML of domain ${name}`, d, f.virDomainGetXMLDesc, 0));
      facts = readDomainXml(xml);
      this.remember(uuid, facts);
    }
    // The port is live-only: an inactive domain's XML still says autoport's -1 or the last one.
    if (facts.graphics && !isActive(state)) facts.graphics.port = 0;
    return { name, uuid, state, reason, ...facts };
  }

  /**
   * The config facts of each domain (paths, console type and address, instance id) as last read. They
   * change only when a domain is (re)defined; this agent defines edgehub's domains and forgets them
   * when it undefines them, and a lifecycle "defined" event from anyone else forgets them too.
   */
  private readonly configFacts = new Map<string, DomainXmlFacts>();

  private remember(uuid: string, facts: DomainXmlFacts): void {
    if (facts.instanceId) this.instanceIds.set(uuid, facts.instanceId);
    this.configFacts.set(uuid, { ...facts, graphics: facts.graphics && { ...facts.graphics, port: 0 } });
  }

  /** Drops what is remembered of a domain's config (it was redefined or undefined). */
  forgetConfig(uuid: string): void {
    this.configFacts.delete(uuid);
  }

  /** The domain's state and what its XML says; "absent" when there is none. */
  describe(name: string): Promise<DomainFacts> {
    return this.conn.run(async (c) => {
      try {
        return await this.factsOf(c, await this.lookup(c, name));
      } catch (err) {
        if (isLibvirtError(err, VIR_ERR.NO_DOMAIN)) return absentDomain(name);
        throw err;
      }
    });
  }

  /** Defines the domain unless one with this uuid exists (which is left as it is). */
  define(uuid: string, xml: string): Promise<{ facts: DomainFacts; defined: boolean }> {
    return this.conn.run(async (c) => {
      try {
        const existing = await c.domain(`Cannot find domain ${uuid}`, f.virDomainLookupByUUIDString, uuid);
        return { facts: await this.factsOf(c, existing), defined: false };
      } catch (err) {
        if (!isLibvirtError(err, VIR_ERR.NO_DOMAIN)) throw err;
      }
      const d = await c.domain(`Cannot define domain ${uuid}`, f.virDomainDefineXMLFlags, xml, DEFINE_VALIDATE);
      this.forgetConfig(uuid);
      // Defining never starts a domain: it is shut off, for no reason yet (libvirt's "unknown").
      const state = { state: "shutoff" as const, reason: "unknown" };
      return { facts: await this.factsOf(c, d, { definedXml: xml, state }), defined: true };
    });
  }

  /**
   * Starts (or resumes a paused domain). The create is tried first and the state read only when
   * libvirt refuses it, so the common path is three round trips, as few as a bare client's plus the
   * XML read that yields the live console port.
   */
  start(name: string): Promise<DomainFacts> {
    return this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      try {
        await c.callDomain(`Cannot start domain ${name}`, d, f.virDomainCreate);
      } catch (err) {
        // Already active (drivers differ in the code they give: QEMU OPERATION_INVALID, test INTERNAL),
        // or another command got there first: the state decides.
        const now = await this.stateOf(c, d);
        if (now.state === "paused") await this.resumeIfPaused(c, d, name);
        else if (!isActive(now.state)) throw err;
        return this.factsOf(c, d);
      }
      return this.factsOf(c, d, { state: { state: "running", reason: "booted" } });
    });
  }

  /** Destroys an active domain; one that is already off is success (its state says how it went off). */
  destroy(name: string): Promise<DomainFacts> {
    return this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      try {
        await c.callDomain(`Cannot destroy domain ${name}`, d, f.virDomainDestroy);
      } catch (err) {
        // Not running (or destroyed by a concurrent command): already where it should be.
        const now = await this.stateOf(c, d);
        if (isActive(now.state)) throw err;
        return this.factsOf(c, d, { state: now, configOnly: true });
      }
      return this.factsOf(c, d, { state: { state: "shutoff", reason: "destroyed" }, configOnly: true });
    });
  }

  private async resumeIfPaused(c: LentConnection, d: DomainHandle, name: string): Promise<void> {
    try {
      await c.callDomain(`Cannot resume domain ${name}`, d, f.virDomainResume);
    } catch (err) {
      if ((await this.stateOf(c, d)).state !== "running") throw err; // else resumed meanwhile
    }
  }

  suspend(name: string): Promise<DomainFacts> {
    return this.transition(name, "suspend", async (c, d, state) => {
      if (state !== "paused") await c.callDomain(`Cannot suspend domain ${name}`, d, f.virDomainSuspend);
    });
  }

  resume(name: string): Promise<DomainFacts> {
    return this.transition(name, "resume", async (c, d, state) => {
      if (state === "paused") await c.callDomain(`Cannot resume domain ${name}`, d, f.virDomainResume);
    });
  }

  /**
   * Runs `act` on the domain in its current state, then reports it. A concurrent command that got
   * there first makes libvirt answer OPERATION_INVALID ("already paused"): the state decides.
   */
  private transition(
    name: string,
    what: "suspend" | "resume",
    act: (c: LentConnection, d: DomainHandle, state: DomainStateName) => Promise<void>,
  ): Promise<DomainFacts> {
    return this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      const { state } = await this.stateOf(c, d);
      try {
        await act(c, d, state);
      } catch (err) {
        if (!isLibvirtError(err, VIR_ERR.OPERATION_INVALID)) throw err;
        const now = await this.stateOf(c, d);
        const reached = what === "resume" ? now.state === "running" : now.state === "paused";
        if (!reached) throw err;
      }
      return this.factsOf(c, d);
    });
  }

  /** ACPI power button, then destroy when the guest is not off within the timeout. */
  async shutdown(name: string, options: ShutdownOptions): Promise<DomainFacts & { forced: boolean }> {
    const before = await this.describe(name);
    if (before.state === "absent")
      throw new LibvirtError(`Cannot shut down domain ${name}`, VIR_ERR.NO_DOMAIN, 0, "Domain not found");
    if (!isActive(before.state)) return { ...before, forced: false };
    await this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      try {
        await c.callDomain(`Cannot shut down domain ${name}`, d, f.virDomainShutdownFlags, 0);
      } catch (err) {
        if (!isLibvirtError(err, VIR_ERR.OPERATION_INVALID)) throw err; // went off meanwhile
      }
    });
    const deadline = Date.now() + options.timeoutMs;
    const pollMs = options.pollMs ?? 100;
    while (Date.now() < deadline && !options.signal?.aborted) {
      const now = await this.describe(name);
      if (!isActive(now.state)) return { ...now, forced: false };
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
    options.signal?.throwIfAborted();
    return { ...(await this.destroy(name)), forced: true };
  }

  /** Destroys (if running) and undefines; a domain already gone is success. Returns what it was. */
  undefine(name: string): Promise<DomainFacts> {
    return this.conn.run(async (c) => {
      let d: DomainHandle;
      try {
        d = await this.lookup(c, name);
      } catch (err) {
        if (isLibvirtError(err, VIR_ERR.NO_DOMAIN)) return absentDomain(name);
        throw err;
      }
      const was = await this.factsOf(c, d, { configOnly: true });
      try {
        if (isActive(was.state)) await c.callDomain(`Cannot destroy domain ${name}`, d, f.virDomainDestroy);
        await this.undefineFlags(c, d, name);
        this.forgetConfig(was.uuid);
      } catch (err) {
        // Gone meanwhile (a concurrent undefine): the goal is reached.
        if (!isLibvirtError(err, VIR_ERR.NO_DOMAIN) && !isLibvirtError(err, VIR_ERR.OPERATION_INVALID)) throw err;
      }
      return { ...was, state: "absent" as const, reason: "undefined" };
    });
  }

  private async undefineFlags(c: LentConnection, d: DomainHandle, name: string): Promise<void> {
    try {
      await c.callDomain(`Cannot undefine domain ${name}`, d, f.virDomainUndefineFlags, UNDEFINE_FLAGS);
    } catch (err) {
      // Drivers without NVRAM/checkpoint support reject those flags; nothing of theirs to remove then.
      if (!isLibvirtError(err, VIR_ERR.INVALID_ARG) && !isLibvirtError(err, VIR_ERR.NO_SUPPORT)) throw err;
      await c.callDomain(`Cannot undefine domain ${name}`, d, f.virDomainUndefineFlags, 1 | 2);
    }
  }

  /** Sets the console password (live when running, else in the config), valid until `validUntil`. */
  setGraphicsPassword(name: string, password: string, validUntil: Date | undefined): Promise<DomainFacts> {
    return this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      const { state } = await this.stateOf(c, d);
      const xml = await c.callDomain<string>(
        `Cannot read the XML of domain ${name}`,
        d,
        f.virDomainGetXMLDesc,
        XML_SECURE,
      );
      const g = readDomainXml(xml).graphics;
      if (!g)
        throw new LibvirtError(
          `Cannot set the console password of domain ${name}`,
          VIR_ERR.OPERATION_INVALID,
          0,
          "the domain has no graphics device",
        );
      const device = graphicsPasswordXml(g, password, validUntil);
      const flags = isActive(state) ? AFFECT_LIVE : AFFECT_CONFIG;
      try {
        await c.callDomain(
          `Cannot set the console password of domain ${name}`,
          d,
          f.virDomainUpdateDeviceFlags,
          device,
          flags,
        );
      } catch (err) {
        // libvirt's test driver has no device updates (and no console server behind its graphics):
        // its domains get the password in their definition, so the ticket path runs end to end on
        // it. Every other driver that refuses is an error the hub reports.
        if (!isLibvirtError(err, VIR_ERR.NO_SUPPORT) || !/^<domain type='test'/.test(xml)) throw err;
        const redefined = xml.replace(/<graphics\b[\s\S]*?<\/graphics>|<graphics\b[^>]*\/>/, device);
        await c.domain(`Cannot set the console password of domain ${name}`, f.virDomainDefineXMLFlags, redefined, 0);
      }
      return this.factsOf(c, d);
    });
  }

  attachDevice(name: string, deviceXml: string, flags: number): Promise<void> {
    return this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      await c.callDomain(`Cannot attach a device to domain ${name}`, d, f.virDomainAttachDeviceFlags, deviceXml, flags);
    });
  }

  detachDevice(name: string, deviceXml: string, flags: number): Promise<void> {
    return this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      await c.callDomain(
        `Cannot detach a device from domain ${name}`,
        d,
        f.virDomainDetachDeviceFlags,
        deviceXml,
        flags,
      );
    });
  }

  /** The domain's state and its XML: the running domain's (inactive = false) or its persistent definition. */
  readXml(name: string, inactive: boolean): Promise<{ state: DomainStateName; xml: string }> {
    return this.conn.run(async (c) => {
      const d = await this.lookup(c, name);
      const { state } = await this.stateOf(c, d);
      const flags = inactive ? XML_INACTIVE : 0;
      const xml = await c.callDomain<string>(`Cannot read the XML of domain ${name}`, d, f.virDomainGetXMLDesc, flags);
      return { state, xml };
    });
  }

  /** Every domain on the host, edgehub's and others. */
  list(): Promise<DomainFacts[]> {
    return this.conn.run(async (c) => {
      const out: unknown[] = [null];
      const n = await c.call<number>("Cannot list domains", f.virConnectListAllDomains, out, 0);
      if (n === 0) {
        koffi.free(out[0]);
        return [];
      }
      const handles = (koffi.decode(out[0], koffi.array(virDomainPtr, n)) as unknown[]).map((p) => c.adopt(p));
      koffi.free(out[0]);
      const facts: DomainFacts[] = [];
      for (const d of handles) {
        try {
          facts.push(await this.factsOf(c, d));
        } catch (err) {
          if (!isLibvirtError(err, VIR_ERR.NO_DOMAIN)) throw err; // undefined while listing
        }
      }
      return facts;
    });
  }
}

export { AFFECT_CONFIG, AFFECT_LIVE };
