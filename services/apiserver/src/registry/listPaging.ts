import type { KindDefinition } from "@kubelab/api";
import { listTooLarge } from "../apiErrors.js";
import type { CacheEntry } from "../storage/watchCache.js";

/** What bounds one LIST response: the client's limit, and the bytes one gRPC message should carry. */
export interface ListSize {
  limit: number;
  /**
   * Bytes of objects a page with a limit carries at most (one larger object comes alone): the
   * page then ends early, with a continue token, as Kubernetes lets a server return fewer items
   * than the limit.
   */
  pageMaxBytes?: number;
  /** Bytes a LIST without a limit may carry; beyond them the client is told to page. */
  unpagedMaxBytes?: number;
}

/** One page being filled. */
export interface ListBounds {
  limit: number;
  /** Whether the page is full. */
  full(page: CacheEntry[]): boolean;
  /** Whether `next` still fits on the page; throws when an unpaged list grows too large. */
  fits(page: CacheEntry[], next: CacheEntry): boolean;
}

/** The size an entry adds to a response: its encoding, with room for its envelope. */
const responseBytes = (e: CacheEntry) => e.sizeBytes + 64;

/** The bounds of one page of a LIST of `def`'s resource. */
export function listBounds(def: KindDefinition, q: ListSize): ListBounds {
  const pageMax = q.pageMaxBytes ?? Infinity;
  const unpagedMax = q.unpagedMaxBytes ?? Infinity;
  let bytes = 0;
  let counted = 0;
  const fits = (page: CacheEntry[], next: CacheEntry): boolean => {
    // Bytes of the page so far (the page only ever grows between calls).
    for (; counted < page.length; counted++) bytes += responseBytes(page[counted]!);
    const after = bytes + responseBytes(next);
    if (q.limit > 0) return page.length === 0 || after <= pageMax;
    if (after > unpagedMax) throw listTooLarge(def.resource, after, unpagedMax);
    return true;
  };
  return { limit: q.limit, full: (page) => q.limit > 0 && page.length >= q.limit, fits };
}
