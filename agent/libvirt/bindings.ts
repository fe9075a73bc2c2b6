import koffi, { type LibraryHandle } from "koffi";

/**
 * The raw C surface of libvirt.so.0 the agent uses, declared once. Nothing outside agent/libvirt
 * touches these: a freed handle passed here segfaults the process, so the classes in
 * connection.ts and domain-ops.ts own every pointer and refuse use after close.
 */
/** Why libvirt.so.0 could not be loaded; undefined when it was. */
export let libvirtLoadError: Error | undefined;

// Loaded at import but never fatal: a machine without libvirt (a ceph gateway, a developer's
// laptop) still runs the agent; only libvirt calls fail, with this reason.
function loadLibvirt(): LibraryHandle | undefined {
  try {
    return koffi.load("libvirt.so.0");
  } catch (err) {
    libvirtLoadError = new Error(
      `libvirt.so.0 cannot be loaded (${(err as Error).message}); install libvirt (scripts/libvirt-dev.sh)`,
    );
    return undefined;
  }
}
const lib = loadLibvirt();

export const virConnectPtr = koffi.pointer("virConnectPtr", koffi.opaque("virConnect"));
export const virDomainPtr = koffi.pointer("virDomainPtr", koffi.opaque("virDomain"));
// Strings libvirt allocates for the caller: koffi copies them to JS, then calls free().
koffi.disposable("virHeapStr", "str");

export const VirError = koffi.struct("virError", {
  code: "int",
  domain: "int",
  message: "char *",
  level: "int",
  conn: "void *",
  dom: "void *",
  str1: "char *",
  str2: "char *",
  str3: "char *",
  int1: "int",
  int2: "int",
  net: "void *",
});

export const VirNodeInfo = koffi.struct("virNodeInfo", {
  model: koffi.array("char", 32, "String"),
  memory: "unsigned long",
  cpus: "unsigned int",
  mhz: "unsigned int",
  nodes: "unsigned int",
  sockets: "unsigned int",
  cores: "unsigned int",
  threads: "unsigned int",
});

const VirTypedParameterValue = koffi.union("virTypedParameterValue", {
  i: "int",
  ui: "unsigned int",
  l: "long long",
  ul: "unsigned long long",
  d: "double",
  b: "char",
  s: "char *",
});
export const VirTypedParameter = koffi.struct("virTypedParameter", {
  field: koffi.array("char", 80, "String"),
  type: "int",
  value: VirTypedParameterValue,
});
export const VirDomainStatsRecord = koffi.struct("virDomainStatsRecord", {
  dom: "virDomainPtr",
  params: "void *",
  nparams: "int",
});

export const LifecycleCallback = koffi.proto(
  "int virConnectDomainEventLifecycleCallback(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)",
);
export const TimeoutCallback = koffi.proto("void virEventTimeoutCallback(int timer, void *opaque)");

function functionsOf(lib: LibraryHandle) {
  return {
    virConnectOpen: lib.func("virConnectPtr virConnectOpen(const char *name)"),
    virConnectClose: lib.func("int virConnectClose(virConnectPtr conn)"),
    virConnGetLastError: lib.func("virError *virConnGetLastError(virConnectPtr conn)"),
    virConnResetLastError: lib.func("void virConnResetLastError(virConnectPtr conn)"),
    virGetLastError: lib.func("virError *virGetLastError()"),
    virNodeGetInfo: lib.func("int virNodeGetInfo(virConnectPtr conn, _Out_ virNodeInfo *info)"),
    virConnectListAllDomains: lib.func(
      "int virConnectListAllDomains(virConnectPtr conn, _Out_ void **domains, unsigned int flags)",
    ),
    virConnectGetAllDomainStats: lib.func(
      "int virConnectGetAllDomainStats(virConnectPtr conn, unsigned int stats, _Out_ void **retStats, unsigned int flags)",
    ),
    virDomainStatsRecordListFree: lib.func("void virDomainStatsRecordListFree(void *stats)"),
    virDomainDefineXMLFlags: lib.func(
      "virDomainPtr virDomainDefineXMLFlags(virConnectPtr conn, const char *xml, unsigned int flags)",
    ),
    virDomainLookupByName: lib.func("virDomainPtr virDomainLookupByName(virConnectPtr conn, const char *name)"),
    virDomainLookupByUUIDString: lib.func(
      "virDomainPtr virDomainLookupByUUIDString(virConnectPtr conn, const char *uuid)",
    ),
    virDomainFree: lib.func("int virDomainFree(virDomainPtr dom)"),
    virDomainGetName: lib.func("const char *virDomainGetName(virDomainPtr dom)"),
    virDomainGetUUIDString: lib.func("int virDomainGetUUIDString(virDomainPtr dom, _Out_ uint8_t *buf)"),
    virDomainCreate: lib.func("int virDomainCreate(virDomainPtr dom)"),
    virDomainShutdownFlags: lib.func("int virDomainShutdownFlags(virDomainPtr dom, unsigned int flags)"),
    virDomainDestroy: lib.func("int virDomainDestroy(virDomainPtr dom)"),
    virDomainUndefineFlags: lib.func("int virDomainUndefineFlags(virDomainPtr dom, unsigned int flags)"),
    virDomainSuspend: lib.func("int virDomainSuspend(virDomainPtr dom)"),
    virDomainResume: lib.func("int virDomainResume(virDomainPtr dom)"),
    virDomainGetState: lib.func(
      "int virDomainGetState(virDomainPtr dom, _Out_ int *state, _Out_ int *reason, unsigned int flags)",
    ),
    virDomainGetXMLDesc: lib.func("virHeapStr virDomainGetXMLDesc(virDomainPtr dom, unsigned int flags)"),
    virDomainUpdateDeviceFlags: lib.func(
      "int virDomainUpdateDeviceFlags(virDomainPtr dom, const char *xml, unsigned int flags)",
    ),
    virDomainAttachDeviceFlags: lib.func(
      "int virDomainAttachDeviceFlags(virDomainPtr dom, const char *xml, unsigned int flags)",
    ),
    virDomainDetachDeviceFlags: lib.func(
      "int virDomainDetachDeviceFlags(virDomainPtr dom, const char *xml, unsigned int flags)",
    ),
    virEventRegisterDefaultImpl: lib.func("int virEventRegisterDefaultImpl()"),
    virEventRunDefaultImpl: lib.func("int virEventRunDefaultImpl()"),
    virEventAddTimeout: lib.func(
      "int virEventAddTimeout(int timeout, virEventTimeoutCallback *cb, void *opaque, void *ff)",
    ),
    virEventUpdateTimeout: lib.func("void virEventUpdateTimeout(int timer, int timeout)"),
    virEventRemoveTimeout: lib.func("int virEventRemoveTimeout(int timer)"),
    virConnectDomainEventRegisterAny: lib.func(
      "int virConnectDomainEventRegisterAny(virConnectPtr conn, virDomainPtr dom, int eventID, virConnectDomainEventLifecycleCallback *cb, void *opaque, void *freecb)",
    ),
    virConnectDomainEventDeregisterAny: lib.func(
      "int virConnectDomainEventDeregisterAny(virConnectPtr conn, int callbackID)",
    ),
  };
}

/** The C functions; without libvirt.so.0 every access throws libvirtLoadError. */
export const fn: ReturnType<typeof functionsOf> = lib
  ? functionsOf(lib)
  : (new Proxy(
      {},
      {
        get() {
          throw libvirtLoadError;
        },
      },
    ) as ReturnType<typeof functionsOf>);

// libvirt prints every error to stderr by default. A native handler that does nothing
// (virFreeError(NULL), called as handler(NULL, err)) silences it without a JS callback per error.
lib?.func("void virSetErrorFunc(void *userData, void *handler)")(null, lib.symbol("virFreeError"));

/** Calls a C function on koffi's worker threads so a slow or hung libvirt never blocks the event loop. */
export function callAsync<R>(f: { async: (...args: unknown[]) => void }, ...args: unknown[]): Promise<R> {
  return new Promise((resolve, reject) => {
    f.async(...args, (err: Error | null, res: R) => (err ? reject(err) : resolve(res)));
  });
}

export { koffi };
