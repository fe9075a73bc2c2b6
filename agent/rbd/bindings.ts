import koffi, { type LibraryHandle } from "koffi";

/**
 * The raw C surface of librados.so.2 and librbd.so.1 the ceph_gateway agent uses, declared once
 * (signatures from rados/librados.h and rbd/librbd.h, Ceph 16). Nothing outside agent/rbd touches
 * these: a closed or NULL handle passed here segfaults the process, so cluster.ts owns every
 * pointer and refuses use after close.
 */
/** Why librados/librbd could not be loaded; undefined when they were. */
export let rbdLoadError: Error | undefined;

// Loaded at import but never fatal: a compute agent or a laptop without Ceph still starts; only
// RBD commands fail, with this reason.
function load(): { rados: LibraryHandle; rbd: LibraryHandle } | undefined {
  try {
    return { rados: koffi.load("librados.so.2"), rbd: koffi.load("librbd.so.1") };
  } catch (err) {
    rbdLoadError = new Error(
      `librados.so.2/librbd.so.1 cannot be loaded (${(err as Error).message}); install ceph-common (scripts/ceph-dev.sh)`,
    );
    return undefined;
  }
}
const libs = load();

export const radosT = koffi.pointer("rados_t", koffi.opaque("rados"));
export const ioctxT = koffi.pointer("rados_ioctx_t", koffi.opaque("rados_ioctx"));
export const imageT = koffi.pointer("rbd_image_t", koffi.opaque("rbd_image"));
export const optionsT = koffi.pointer("rbd_image_options_t", koffi.opaque("rbd_image_options"));

export const PoolStat = koffi.struct("rados_pool_stat_t", {
  num_bytes: "uint64_t",
  num_kb: "uint64_t",
  num_objects: "uint64_t",
  num_object_clones: "uint64_t",
  num_object_copies: "uint64_t",
  num_objects_missing_on_primary: "uint64_t",
  num_objects_unfound: "uint64_t",
  num_objects_degraded: "uint64_t",
  num_rd: "uint64_t",
  num_rd_kb: "uint64_t",
  num_wr: "uint64_t",
  num_wr_kb: "uint64_t",
  num_user_bytes: "uint64_t",
  compressed_bytes_orig: "uint64_t",
  compressed_bytes: "uint64_t",
  compressed_bytes_alloc: "uint64_t",
});
export const ClusterStat = koffi.struct("rados_cluster_stat_t", {
  kb: "uint64_t",
  kb_used: "uint64_t",
  kb_avail: "uint64_t",
  num_objects: "uint64_t",
});
// Arrays librbd fills and frees itself (rbd_*_cleanup): allocated with koffi.alloc, read with decode.
export const SnapInfo = koffi.struct("rbd_snap_info_t", { id: "uint64_t", size: "uint64_t", name: "const char *" });
export const ImageSpec = koffi.struct("rbd_image_spec_t", { id: "const char *", name: "const char *" });
export const LinkedImageSpec = koffi.struct("rbd_linked_image_spec_t", {
  pool_id: "int64_t",
  pool_name: "const char *",
  pool_namespace: "const char *",
  image_id: "const char *",
  image_name: "const char *",
  trash: "bool",
});
export const SnapSpec = koffi.struct("rbd_snap_spec_t", {
  id: "uint64_t",
  namespace_type: "int",
  name: "const char *",
});

/** librbd.h RBD_FEATURE_LAYERING: what a clone's parent needs. */
export const RBD_FEATURE_LAYERING = 1n;
/** librbd.h rbd_image_option enum. */
export const RBD_IMAGE_OPTION_FEATURES = 1;

function functionsOf(rados: LibraryHandle, rbd: LibraryHandle) {
  return {
    rados_create2: rados.func(
      "int rados_create2(_Out_ rados_t *pcluster, const char *clustername, const char *name, uint64_t flags)",
    ),
    rados_conf_read_file: rados.func("int rados_conf_read_file(rados_t cluster, const char *path)"),
    rados_conf_set: rados.func("int rados_conf_set(rados_t cluster, const char *option, const char *value)"),
    rados_conf_get: rados.func(
      "int rados_conf_get(rados_t cluster, const char *option, _Out_ uint8_t *buf, size_t len)",
    ),
    rados_connect: rados.func("int rados_connect(rados_t cluster)"),
    rados_shutdown: rados.func("void rados_shutdown(rados_t cluster)"),
    rados_pool_list: rados.func("int rados_pool_list(rados_t cluster, _Out_ uint8_t *buf, size_t len)"),
    rados_cluster_stat: rados.func("int rados_cluster_stat(rados_t cluster, _Out_ rados_cluster_stat_t *result)"),
    rados_ioctx_create: rados.func(
      "int rados_ioctx_create(rados_t cluster, const char *pool_name, _Out_ rados_ioctx_t *ioctx)",
    ),
    rados_ioctx_destroy: rados.func("void rados_ioctx_destroy(rados_ioctx_t io)"),
    rados_ioctx_pool_stat: rados.func("int rados_ioctx_pool_stat(rados_ioctx_t io, _Out_ rados_pool_stat_t *stats)"),
    rados_mon_command: rados.func(
      "int rados_mon_command(rados_t cluster, const char **cmd, size_t cmdlen, const char *inbuf, size_t inbuflen, _Out_ void **outbuf, _Out_ size_t *outbuflen, _Out_ void **outs, _Out_ size_t *outslen)",
    ),
    rados_buffer_free: rados.func("void rados_buffer_free(void *buf)"),

    rbd_image_options_create: rbd.func("void rbd_image_options_create(_Out_ rbd_image_options_t *opts)"),
    rbd_image_options_destroy: rbd.func("void rbd_image_options_destroy(rbd_image_options_t opts)"),
    rbd_image_options_set_uint64: rbd.func(
      "int rbd_image_options_set_uint64(rbd_image_options_t opts, int optname, uint64_t optval)",
    ),
    rbd_create4: rbd.func(
      "int rbd_create4(rados_ioctx_t io, const char *name, uint64_t size, rbd_image_options_t opts)",
    ),
    rbd_clone3: rbd.func(
      "int rbd_clone3(rados_ioctx_t p_ioctx, const char *p_name, const char *p_snapname, rados_ioctx_t c_ioctx, const char *c_name, rbd_image_options_t c_opts)",
    ),
    rbd_remove: rbd.func("int rbd_remove(rados_ioctx_t io, const char *name)"),
    rbd_list2: rbd.func("int rbd_list2(rados_ioctx_t io, void *images, _Inout_ size_t *max_images)"),
    rbd_image_spec_list_cleanup: rbd.func("void rbd_image_spec_list_cleanup(void *images, size_t num_images)"),
    rbd_open: rbd.func(
      "int rbd_open(rados_ioctx_t io, const char *name, _Out_ rbd_image_t *image, const char *snap_name)",
    ),
    rbd_open_read_only: rbd.func(
      "int rbd_open_read_only(rados_ioctx_t io, const char *name, _Out_ rbd_image_t *image, const char *snap_name)",
    ),
    rbd_close: rbd.func("int rbd_close(rbd_image_t image)"),
    rbd_snap_set: rbd.func("int rbd_snap_set(rbd_image_t image, const char *snapname)"),
    rbd_list_children3: rbd.func("int rbd_list_children3(rbd_image_t image, void *images, _Inout_ size_t *max_images)"),
    rbd_resize: rbd.func("int rbd_resize(rbd_image_t image, uint64_t size)"),
    rbd_get_size: rbd.func("int rbd_get_size(rbd_image_t image, _Out_ uint64_t *size)"),
    rbd_get_parent: rbd.func("int rbd_get_parent(rbd_image_t image, void *parent_image, void *parent_snap)"),
    rbd_linked_image_spec_cleanup: rbd.func("void rbd_linked_image_spec_cleanup(void *image)"),
    rbd_snap_spec_cleanup: rbd.func("void rbd_snap_spec_cleanup(void *snap)"),
    rbd_snap_list: rbd.func("int rbd_snap_list(rbd_image_t image, void *snaps, _Inout_ int *max_snaps)"),
    rbd_snap_list_end: rbd.func("void rbd_snap_list_end(void *snaps)"),
    rbd_snap_is_protected: rbd.func(
      "int rbd_snap_is_protected(rbd_image_t image, const char *snap_name, _Out_ int *is_protected)",
    ),
    rbd_snap_create: rbd.func("int rbd_snap_create(rbd_image_t image, const char *snapname)"),
    rbd_snap_remove: rbd.func("int rbd_snap_remove(rbd_image_t image, const char *snapname)"),
    rbd_snap_protect: rbd.func("int rbd_snap_protect(rbd_image_t image, const char *snap_name)"),
    rbd_snap_unprotect: rbd.func("int rbd_snap_unprotect(rbd_image_t image, const char *snap_name)"),
    rbd_flatten: rbd.func("int rbd_flatten(rbd_image_t image)"),
  };
}

/** The C functions; without the libraries every access throws rbdLoadError. */
export const fn: ReturnType<typeof functionsOf> = libs
  ? functionsOf(libs.rados, libs.rbd)
  : (new Proxy(
      {},
      {
        get() {
          throw rbdLoadError;
        },
      },
    ) as ReturnType<typeof functionsOf>);

/** Calls a C function on koffi's worker threads so a slow or hung cluster never blocks the event loop. */
export function callAsync<R>(f: { async: (...args: unknown[]) => void }, ...args: unknown[]): Promise<R> {
  return new Promise((resolve, reject) => {
    f.async(...args, (err: Error | null, res: R) => (err ? reject(err) : resolve(res)));
  });
}

export { koffi };
