/**
 * One image version's bytes as the agent needs them: the proto edgehub.common.v1.ImageContentRef
 * fits this shape as it is (sizeBytes is a bigint there).
 */
export interface ImageContentRef {
  readonly imageVersionId: string;
  /** Lower-case hex sha256: the cache key and the check after fetching. */
  readonly sha256: string;
  readonly sizeBytes: bigint | number;
}

/** The bytes of `ref` from `offset` on, in order; throws when the hub refuses or the link breaks. */
export type ImageFetch = (ref: ImageContentRef, offset: number, signal: AbortSignal) => AsyncIterable<Uint8Array>;

export const SHA256_HEX = /^[0-9a-f]{64}$/;

const GIB = 1024 ** 3;

/** Bytes as GiB for people: "0.5", "12", "0.0001". */
export function gib(bytes: number): string {
  const v = bytes / GIB;
  return v >= 10 ? v.toFixed(0) : v >= 0.1 ? String(Number(v.toFixed(2))) : String(Number(v.toPrecision(2)));
}
