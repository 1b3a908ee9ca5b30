/**
 * client-go's ControllerExpectations: after asking for n creations (or these deletions) a
 * controller does not act on the key again until its informer has seen them, so a slow watch
 * never makes it create too many. Expectations lapse after five minutes, in case an event was lost.
 */
export class Expectations {
  private readonly byKey = new Map<string, { adds: number; dels: Set<string>; at: number }>();

  constructor(private readonly ttlMs = 5 * 60_000) {}

  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.dels.size === 0) || Date.now() - e.at > this.ttlMs) {
      this.byKey.delete(key);
      return true;
    }
    return false;
  }

  expectCreations(key: string, n: number): void {
    this.byKey.set(key, { adds: n, dels: new Set(), at: Date.now() });
  }

  expectDeletions(key: string, uids: string[]): void {
    this.byKey.set(key, { adds: 0, dels: new Set(uids), at: Date.now() });
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.adds--;
  }

  deletionObserved(key: string, uid: string): void {
    this.byKey.get(key)?.dels.delete(uid);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}
