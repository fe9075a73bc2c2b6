import type { Readable } from "node:stream";

/** What an upload declares about the bytes that follow; the store checks both while it reads them. */
export interface ExpectedContent {
  /** Lower-case hex sha256 the bytes must hash to. */
  readonly sha256: string;
  /** More bytes than this are refused (ResourceExhaustedError CONTENT_TOO_LARGE) and nothing is kept. */
  readonly maxBytes: number;
}

export interface StoredContent {
  readonly sha256: string;
  readonly sizeBytes: number;
  /** False when the store already held these bytes (an identical re-upload). */
  readonly created: boolean;
}

/** One stored content, as a sweep sees it. */
export interface StoredEntry {
  readonly sha256: string;
  readonly sizeBytes: number;
  /** When it was last written or re-uploaded: a sweep spares recent content an upload may be about to record. */
  readonly modifiedAt: Date;
}

/** A byte range, both ends inclusive as in HTTP Range; `end` omitted means to the end. */
export interface ContentRange {
  readonly start: number;
  readonly end?: number;
}

/**
 * The hub's image bytes, addressed by their sha256. Content is either fully present and verified or
 * absent: a put streams into a temporary file, hashes while it writes, and only a matching, complete
 * body is renamed into place. Stores never see database rows; hub/image-content/upload-content.ts
 * records which version has which content.
 */
export interface ImageContentStore {
  /** Reads `body` to its end; refuses a digest mismatch (InvalidArgumentError) or an oversize body. */
  put(body: AsyncIterable<Uint8Array>, expected: ExpectedContent, signal?: AbortSignal): Promise<StoredContent>;
  has(sha256: string): Promise<boolean>;
  /** Size in bytes, or undefined when absent. */
  size(sha256: string): Promise<number | undefined>;
  /** The bytes (or a range of them); NotFoundError when absent. */
  openRead(sha256: string, range?: ContentRange): Promise<Readable>;
  list(): Promise<StoredEntry[]>;
  /** Removes the content unless it was written after `unlessModifiedAfter` (a re-upload meanwhile). */
  remove(sha256: string, unlessModifiedAfter?: Date): Promise<boolean>;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
