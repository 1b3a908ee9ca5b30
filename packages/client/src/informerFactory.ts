import type { KubeObject } from "@kubelab/api";
import type { ApiClient } from "./apiClient.js";
import { Informer } from "./informer.js";

/**
 * client-go's SharedInformerFactory: one informer per resource, shared by every controller of a
 * process, so ten controllers watching pods cost one watch and one cache.
 */
export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();

  constructor(private readonly client: ApiClient) {}

  for<T extends KubeObject>(resource: string): Informer<T> {
    let inf = this.informers.get(resource);
    if (!inf) {
      inf = new Informer<KubeObject>(this.client, resource);
      inf.indexer.addIndex("namespace", (o) => [o.metadata?.namespace ?? ""]);
      this.informers.set(resource, inf);
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer asked for so far; resolves when all have listed. */
  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }
}
