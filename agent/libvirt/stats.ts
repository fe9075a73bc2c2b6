import { fn, koffi, VirDomainStatsRecord, VirTypedParameter } from "./bindings.js";
import { DomainHandle, type LentConnection } from "./connection.js";
import type { ConnectionRunner } from "./libvirt-link.js";
import { stateName, type DomainStateName } from "./domain-state.js";

type KoffiFn = Parameters<LentConnection["call"]>[1];

const STATS = 1 /* STATE */ | 2 /* CPU_TOTAL */ | 4 /* BALLOON */ | 8 /* VCPU */ | 16 /* INTERFACE */ | 32; /* BLOCK */

/** One domain's cumulative counters (what DomainStats carries). */
export interface DomainCounters {
  name: string;
  uuid: string;
  state: DomainStateName;
  cpuTimeNs: bigint;
  vcpus: number;
  memoryMaxKib: bigint;
  memoryUsedKib: bigint;
  diskReadBytes: bigint;
  diskWriteBytes: bigint;
  netRxBytes: bigint;
  netTxBytes: bigint;
}

type Param = { field: string; type: number; value: Record<string, unknown> };

function paramValue(p: Param): bigint {
  switch (p.type) {
    case 1:
      return BigInt(p.value.i as number);
    case 2:
      return BigInt(p.value.ui as number);
    case 3:
      return BigInt(p.value.l as number | bigint);
    case 4:
      return BigInt(p.value.ul as number | bigint);
    case 5:
      return BigInt(Math.trunc(p.value.d as number));
    case 6:
      return (p.value.b as number) ? 1n : 0n;
    default:
      return 0n;
  }
}

/** Folds libvirt's flat "net.0.rx.bytes"-style fields into totals per domain. */
export function countersFromParams(name: string, uuid: string, params: Map<string, bigint>): DomainCounters {
  const sum = (re: RegExp) => [...params].reduce((t, [k, v]) => (re.test(k) ? t + v : t), 0n);
  const memoryMax = params.get("balloon.maximum") ?? 0n;
  // Used = what the balloon gives the guest minus what the guest reports unused (when it reports).
  const current = params.get("balloon.current") ?? 0n;
  const unused = params.get("balloon.unused");
  return {
    name,
    uuid,
    state: stateName(Number(params.get("state.state") ?? 0n)),
    cpuTimeNs: params.get("cpu.time") ?? 0n,
    vcpus: Number(params.get("vcpu.current") ?? 0n),
    memoryMaxKib: memoryMax,
    memoryUsedKib: unused === undefined ? current : current - unused,
    diskReadBytes: sum(/^block\.\d+\.rd\.bytes$/),
    diskWriteBytes: sum(/^block\.\d+\.wr\.bytes$/),
    netRxBytes: sum(/^net\.\d+\.rx\.bytes$/),
    netTxBytes: sum(/^net\.\d+\.tx\.bytes$/),
  };
}

/** Counters of every domain on the host in one call (virConnectGetAllDomainStats). */
export function allDomainStats(conn: ConnectionRunner): Promise<DomainCounters[]> {
  return conn.run(async (c) => {
    const out: unknown[] = [null];
    const n = await c.call<number>(
      "Cannot read domain stats",
      fn.virConnectGetAllDomainStats as KoffiFn,
      STATS,
      out,
      0,
    );
    if (!out[0]) return [];
    try {
      const records = koffi.decode(out[0], koffi.array("void *", n)) as unknown[];
      return records.map((r) => {
        const rec = koffi.decode(r, VirDomainStatsRecord) as { dom: unknown; params: unknown; nparams: number };
        // Borrowed from the record, freed with the list: never freed on its own.
        const dom = new DomainHandle(rec.dom);
        const params = new Map<string, bigint>();
        if (rec.nparams > 0) {
          for (const p of koffi.decode(rec.params, koffi.array(VirTypedParameter, rec.nparams)) as Param[])
            params.set(p.field, paramValue(p));
        }
        return countersFromParams(dom.name(), dom.uuid(), params);
      });
    } finally {
      fn.virDomainStatsRecordListFree(out[0]);
    }
  });
}
