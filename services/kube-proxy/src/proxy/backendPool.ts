import type { Backend } from "../rules/servicePorts.js";

export type Balancer = "least-request" | "round-robin";

const keyOf = (b: Backend) => b.key;

/**
 * The ready endpoints of one Service port and how requests are spread over them. least-request
 * takes the endpoint with the fewest requests in flight, starting the search where the last one
 * left off, so that with equal loads (one request at a time) it is plain round robin. With
 * sessionAffinity ClientIP a client keeps its endpoint while that stays ready.
 */
export class BackendPool {
  private backends: Backend[] = [];
  private readonly inFlight = new Map<string, number>();
  private next = 0;
  private readonly affinity = new Map<string, { backend: string; until: number }>();

  constructor(
    private readonly balancer: Balancer,
    private affinitySeconds = 0,
  ) {}

  /** Endpoints changed: new picks use the new set; requests in flight to removed ones finish. */
  update(backends: Backend[], affinitySeconds: number): void {
    this.backends = backends;
    this.affinitySeconds = affinitySeconds;
    if (affinitySeconds === 0) this.affinity.clear();
    if (this.next >= backends.length) this.next = 0;
  }

  get size(): number {
    return this.backends.length;
  }

  /** The endpoint for the next request, none of `tried`; undefined when none is left. */
  pick(clientIP: string, tried?: ReadonlySet<string>): Backend | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    if (this.affinitySeconds > 0) {
      const a = this.affinity.get(clientIP);
      if (a && a.until > Date.now() && !tried?.has(a.backend)) {
        const b = this.backends.find((x) => keyOf(x) === a.backend);
        if (b) return this.remember(clientIP, b);
      }
    }
    let best: Backend | undefined;
    let bestLoad = Infinity;
    let bestAt = 0;
    for (let i = 0; i < n; i++) {
      const at = (this.next + i) % n;
      const b = this.backends[at]!;
      if (tried?.has(keyOf(b))) continue;
      const load = this.balancer === "round-robin" ? 0 : (this.inFlight.get(keyOf(b)) ?? 0);
      if (load < bestLoad) {
        best = b;
        bestLoad = load;
        bestAt = at;
        if (load === 0) break;
      }
    }
    if (!best) return undefined;
    this.next = (bestAt + 1) % n;
    return this.affinitySeconds > 0 ? this.remember(clientIP, best) : best;
  }

  private remember(clientIP: string, b: Backend): Backend {
    this.affinity.set(clientIP, { backend: keyOf(b), until: Date.now() + this.affinitySeconds * 1000 });
    return b;
  }

  acquire(b: Backend): void {
    const k = keyOf(b);
    this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
  }

  release(b: Backend): void {
    const k = keyOf(b);
    const v = (this.inFlight.get(k) ?? 1) - 1;
    if (v <= 0) this.inFlight.delete(k);
    else this.inFlight.set(k, v);
  }
}

export { keyOf as backendKey };
