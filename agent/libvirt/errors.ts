import { fn, koffi, VirError } from "./bindings.js";

/** virErrorNumber values the agent branches on (libvirt/virterror.h). */
export const VIR_ERR = {
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  NO_DOMAIN: 42,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  NO_DOMAIN_METADATA: 80,
  OPERATION_UNSUPPORTED: 84,
  XML_INVALID_SCHEMA: 92,
} as const;

/** A libvirt call failed: `code` is libvirt's virErrorNumber, `domain` the part that raised it. */
export class LibvirtError extends Error {
  override readonly name = "LibvirtError";
  constructor(
    readonly operation: string,
    readonly code: number,
    readonly domain: number,
    readonly detail: string,
  ) {
    super(`${operation}: ${detail} (libvirt error ${code})`);
  }
}

/** The connection or domain handle was closed; the call never reached libvirt. */
export class HandleClosedError extends Error {
  override readonly name = "HandleClosedError";
}

export function isLibvirtError(err: unknown, code: number): err is LibvirtError {
  return err instanceof LibvirtError && err.code === code;
}

/**
 * Reads the connection's last error. libvirt keeps errors per thread and koffi's async calls run
 * on any worker thread, so the per-thread virGetLastError cannot be used here; each connection in
 * the pool runs one call at a time, which makes its per-connection copy (virConnGetLastError) exact.
 */
export function lastConnError(conn: unknown, operation: string): LibvirtError {
  const ptr = fn.virConnGetLastError(conn);
  if (!ptr) return new LibvirtError(operation, 0, 0, "failed without an error from libvirt");
  const e = koffi.decode(ptr, VirError) as { code: number; domain: number; message: string | null };
  const err = new LibvirtError(operation, e.code, e.domain, e.message ?? "unknown libvirt error");
  fn.virConnResetLastError(conn);
  return err;
}

/** For virConnectOpen, where no connection exists yet: the thread error may belong to another call. */
export function lastThreadError(operation: string): LibvirtError {
  const ptr = fn.virGetLastError();
  if (!ptr) return new LibvirtError(operation, 0, 0, "failed without an error from libvirt");
  const e = koffi.decode(ptr, VirError) as { code: number; domain: number; message: string | null };
  return new LibvirtError(operation, e.code, e.domain, e.message ?? "unknown libvirt error");
}
