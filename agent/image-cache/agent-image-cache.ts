import type { HubTls } from "../../lib/fleet-session/hub-client.js";
import { hubImageFetch } from "./hub-image-fetch.js";
import { ImageCache, type ImageCacheOptions } from "./image-cache.js";
import { backedByOverlaysUnder } from "./overlay-backing.js";

/** The compute agent's default --image-cache-gb. */
export const DEFAULT_IMAGE_CACHE_GB = 50;

export interface AgentImageCache {
  readonly cache: ImageCache;
  /** What the define_domain and prepare_image executors take as their dependency. */
  readonly ensureImage: ImageCache["ensureImage"];
  /** Closes the fetch channel to the hub. */
  close(): void;
}

/**
 * The cache as agent/main.ts builds it: under `dir`, bounded by `cacheGb`, fetching from `hub`
 * (host:port of the agent endpoint) with the agent's enrolled identity. Images are in use while an
 * overlay under `instanceDir` has them as backing file (or when `isInUse` says so).
 */
export async function openAgentImageCache(options: {
  dir: string;
  cacheGb: number;
  hub: string;
  identity: Required<HubTls>;
  instanceDir?: string;
  isInUse?: ImageCacheOptions["isInUse"];
}): Promise<AgentImageCache> {
  const isInUse =
    options.isInUse ?? (options.instanceDir !== undefined ? backedByOverlaysUnder(options.instanceDir) : undefined);
  const link = hubImageFetch(options.hub, options.identity);
  const cache = await ImageCache.open({
    dir: options.dir,
    maxBytes: Math.floor(options.cacheGb * 1024 ** 3),
    fetch: link.fetch,
    ...(isInUse ? { isInUse } : {}),
  });
  return { cache, ensureImage: (ref, signal) => cache.ensureImage(ref, signal), close: () => link.close() };
}

/**
 * The cache for an agent that may not be enrolled yet when it starts: the identity is read (and the
 * cache opened) on the first ensureImage; a failed open is retried on the next call.
 */
export function lazyAgentImageCache(options: {
  dir: string;
  cacheGb: number;
  hub: string;
  instanceDir?: string;
  loadIdentity: () => Required<HubTls> | undefined;
}): Pick<AgentImageCache, "ensureImage" | "close"> {
  let opened: Promise<AgentImageCache> | undefined;
  const open = async () => {
    const identity = options.loadIdentity();
    if (!identity) throw new Error("Cannot fetch images: this agent is not enrolled with a hub yet");
    const { dir, cacheGb, hub, instanceDir } = options;
    return openAgentImageCache({ dir, cacheGb, hub, identity, ...(instanceDir !== undefined ? { instanceDir } : {}) });
  };
  return {
    async ensureImage(ref, signal) {
      opened ??= open();
      const cache = await opened.catch((err: unknown) => {
        opened = undefined;
        throw err;
      });
      return cache.ensureImage(ref, signal);
    },
    close() {
      void opened?.then(
        (c) => c.close(),
        () => undefined,
      );
    },
  };
}
