import type { Etcd3 } from "etcd3";
import { withDeadline } from "./etcdClient.js";

/** kube-apiserver's lease reuse: a lease serves the writes of up to this many seconds... */
const MAX_REUSE_SECONDS = 60;
/** ...and of at most this share of the TTL (so a short TTL gets a lease per write)... */
const REUSE_SHARE_OF_TTL = 0.05;
/** ...and at most this many keys. */
const MAX_KEYS_PER_LEASE = 1000;

interface GrantedLease {
  id: string;
  ttl: number;
  expiresAt: number;
  keys: number;
}

/**
 * etcd leases for objects that expire (Events, after --event-ttl), as kube-apiserver's
 * leaseManager hands them out: a key written with a lease is deleted by etcd when the lease
 * expires, and its watchers see DELETED. A lease is reused by the writes of a short window, so a
 * burst of events costs one grant instead of one per event; its TTL is the object's TTL plus
 * that window, so every key it carries lives at least its TTL.
 */
export class LeaseManager {
  private current: GrantedLease | undefined;
  private granting: { ttl: number; lease: Promise<GrantedLease> } | undefined;

  constructor(
    private readonly etcd: Etcd3,
    private readonly timeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The id of a lease under which a key written now lives at least ttlSeconds (and not much longer). */
  async leaseFor(ttlSeconds: number): Promise<string> {
    const ttl = ttlSeconds + Math.min(MAX_REUSE_SECONDS, Math.floor(ttlSeconds * REUSE_SHARE_OF_TTL));
    const cur = this.current;
    // Reusable while it expires later than ttlSeconds from now (never, with no reuse window), for this TTL, with room for a key.
    if (cur && cur.ttl === ttl && cur.expiresAt - this.clock() > ttlSeconds * 1000 && cur.keys < MAX_KEYS_PER_LEASE) {
      cur.keys++;
      return cur.id;
    }
    // Concurrent writers of one TTL share one grant rather than each granting a lease; a fresh
    // lease outlives ttlSeconds whatever the grant took.
    if (this.granting?.ttl !== ttl) {
      const granting = { ttl, lease: this.grant(ttl).finally(() => this.granting === granting && (this.granting = undefined)) };
      this.granting = granting;
    }
    const fresh = await this.granting.lease;
    this.current = fresh;
    fresh.keys++;
    return fresh.id;
  }

  private async grant(ttl: number): Promise<GrantedLease> {
    const grantedAt = this.clock();
    const res = await withDeadline(this.timeoutMs, "lease grant", () => this.etcd.leaseClient.leaseGrant({ TTL: ttl, ID: 0 }));
    return { id: String(res.ID), ttl, expiresAt: grantedAt + ttl * 1000, keys: 0 };
  }
}
