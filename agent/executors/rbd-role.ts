import type { Logger } from "pino";
import type { CommandExecutors } from "../../lib/fleet-session/command-dispatcher.js";
import { rbdLoadError } from "../rbd/bindings.js";
import { CephLink, type CephConnectOptions } from "../rbd/cluster.js";
import { RbdImages } from "../rbd/images.js";
import { rbdExecutors } from "./rbd-executors.js";

/** The ceph_gateway role: RBD executors over one link to the cluster. */
export interface CephGatewayRole {
  executors: CommandExecutors;
  close(): Promise<void>;
}

export function createCephGatewayRole(o: CephConnectOptions & { log: Logger }): CephGatewayRole {
  const { log, ...options } = o;
  const link = new CephLink(options);
  if (rbdLoadError) log.error({ err: rbdLoadError }, rbdLoadError.message);
  else
    // Connect now so an unreachable cluster shows in the log at start; commands connect again.
    link.cluster().then(
      () => log.info({ cluster: link.where, user: options.user }, "Connected to Ceph"),
      (err) => log.error({ err, cluster: link.where }, `Cannot connect to Ceph: ${(err as Error).message}`),
    );
  return { executors: rbdExecutors({ link, images: new RbdImages(link) }), close: () => link.close() };
}
