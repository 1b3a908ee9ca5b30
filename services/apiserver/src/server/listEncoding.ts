import type { CacheEntry } from "../storage/watchCache.js";

// ListResponse and WatchResponse written straight from the cached objects' encoded bytes. Written by hand because
// protobuf-es re-encodes every item through reflection (tens of µs per pod), which made a LIST
// of 10,000 pods cost most of a second; here each item is two length-prefixed copies.
// Wire layout (proto/kubelab/apiserver/v1/api.proto):
//   ListResponse { 1: resource_version string, 2: continue string, 3: remaining_item_count int64, 4: items repeated Any }
//   Any { 1: type_url string, 2: value bytes }

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

const TYPE_URL_PREFIX = "type.googleapis.com/";

export function encodeListResponse(
  resourceVersion: string,
  continueToken: string,
  remaining: number | undefined,
  entries: CacheEntry[],
): Buffer {
  const rv = Buffer.from(resourceVersion);
  const cont = Buffer.from(continueToken);
  const typeUrls = new Map<string, Buffer>();
  const items: Array<{ url: Buffer; value: Uint8Array; anyLen: number }> = [];
  let size = 0;
  if (rv.length) size += 1 + varintSize(rv.length) + rv.length;
  if (cont.length) size += 1 + varintSize(cont.length) + cont.length;
  if (remaining !== undefined) size += 1 + varintSize(remaining);
  for (const e of entries) {
    let url = typeUrls.get(e.def.schema.typeName);
    if (!url) typeUrls.set(e.def.schema.typeName, (url = Buffer.from(TYPE_URL_PREFIX + e.def.schema.typeName)));
    const value = e.bytes();
    const anyLen = 1 + varintSize(url.length) + url.length + 1 + varintSize(value.length) + value.length;
    items.push({ url, value, anyLen });
    size += 1 + varintSize(anyLen) + anyLen;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  const bytesField = (tag: number, b: Uint8Array) => {
    buf[pos++] = tag;
    pos = writeVarint(buf, pos, b.length);
    buf.set(b, pos);
    pos += b.length;
  };
  if (rv.length) bytesField(0x0a, rv);
  if (cont.length) bytesField(0x12, cont);
  if (remaining !== undefined) {
    buf[pos++] = 0x18;
    pos = writeVarint(buf, pos, remaining);
  }
  for (const it of items) {
    buf[pos++] = 0x22;
    pos = writeVarint(buf, pos, it.anyLen);
    bytesField(0x0a, it.url);
    bytesField(0x12, it.value);
  }
  return buf;
}

/** WatchResponse { 1: events repeated WatchEvent } from already-encoded WatchEvent messages. */
export function encodeWatchResponse(events: Uint8Array[]): Buffer {
  let size = 0;
  for (const e of events) size += 1 + varintSize(e.length) + e.length;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const e of events) {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, e.length);
    buf.set(e, pos);
    pos += e.length;
  }
  return buf;
}
