import { create, equals } from "@bufbuild/protobuf";
import {
  EndpointAddressSchema,
  EndpointPortSchema,
  EndpointSubsetSchema,
  EndpointsSchema,
  LabelSelector,
  ObjectReferenceSchema,
  targetPortOf,
  isPodTerminal,
  isPodReady,
  type EndpointSubset,
  type Endpoints,
  type Pod,
  type Service,
} from "@kubelab/api";
import { isAlreadyExists, objectKey, type Informer, ignoreNotFound } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";

/** A service port's target on one pod: its number, or the pod's container port of that name. */
function resolvePort(svcPort: { port: number; targetPort?: Parameters<typeof targetPortOf>[0] }, pod: Pod): number | undefined {
  const t = targetPortOf(svcPort.targetPort, svcPort.port);
  if (typeof t === "number") return t;
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports) if (p.name === t) return p.containerPort;
  return undefined;
}

/** The Endpoints a Service should have, from its pods: ready addresses, and not-ready ones apart. */
export function desiredSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const bySignature = new Map<string, EndpointSubset>();
  for (const pod of pods) {
    if (!pod.status?.podIp || isPodTerminal(pod) || pod.metadata?.deletionTimestamp) continue;
    const ports = (svc.spec?.ports ?? []).flatMap((sp) => {
      const port = resolvePort(sp, pod);
      return port === undefined
        ? []
        : [create(EndpointPortSchema, { name: sp.name, port, protocol: sp.protocol || "TCP", appProtocol: sp.appProtocol })];
    });
    if ((svc.spec?.ports.length ?? 0) > 0 && ports.length === 0) continue;
    const signature = ports.map((p) => `${p.name}/${p.port}/${p.protocol}`).join(",");
    let subset = bySignature.get(signature);
    if (!subset) bySignature.set(signature, (subset = create(EndpointSubsetSchema, { ports })));
    const m = pod.metadata!;
    const address = create(EndpointAddressSchema, {
      ip: pod.status.podIp,
      nodeName: pod.spec?.nodeName || undefined,
      hostname: pod.spec?.hostname && pod.spec.subdomain === svc.metadata!.name ? pod.spec.hostname : "",
      targetRef: create(ObjectReferenceSchema, { kind: "Pod", namespace: m.namespace, name: m.name, uid: m.uid }),
    });
    if (isPodReady(pod) || svc.spec?.publishNotReadyAddresses) subset.addresses.push(address);
    else subset.notReadyAddresses.push(address);
  }
  const byIp = (a: { ip: string }, b: { ip: string }) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);
  const out = [...bySignature.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s);
  for (const s of out) {
    s.addresses.sort(byIp);
    s.notReadyAddresses.sort(byIp);
  }
  return out;
}

/**
 * Kubernetes' endpoints controller: for every Service with a selector, an Endpoints object of the
 * same name listing its pods' addresses (ready ones in addresses, the others in
 * notReadyAddresses) and resolved target ports, rewritten as soon as a pod changes.
 */
export class EndpointsController extends QueueController {
  readonly name = "endpoints";
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.services = ctx.informers.for<Service>("services");
    this.pods = ctx.informers.for<Pod>("pods");
    this.endpoints = ctx.informers.for<Endpoints>("endpoints");
    this.services.addEventHandler({ onAdd: (s) => this.enqueue(s), onUpdate: (_, s) => this.enqueue(s), onDelete: (s) => this.enqueue(s) });
    const podChanged = (p: Pod, old?: Pod) => {
      for (const s of this.services.indexer.byIndex("namespace", p.metadata!.namespace)) {
        const sel = s.spec?.selector ?? {};
        if (Object.keys(sel).length === 0) continue;
        const selector = LabelSelector.fromMessage({ matchLabels: sel, matchExpressions: [] });
        if (selector.matches(p.metadata?.labels) || (old && selector.matches(old.metadata?.labels))) this.enqueue(s);
      }
    };
    this.pods.addEventHandler({ onAdd: (p) => podChanged(p), onUpdate: (a, b) => podChanged(b, a), onDelete: (p) => podChanged(p) });
  }

  protected allKeys(): string[] {
    return this.services.indexer.keys();
  }

  async reconcile(key: string): Promise<void> {
    const svc = this.services.get(key);
    const [namespace, name] = key.split("/") as [string, string];
    const current = this.endpoints.get(key);
    if (!svc) {
      if (current) await ignoreNotFound(this.ctx.client.delete("endpoints", namespace, name));
      return;
    }
    const sel = svc.spec?.selector ?? {};
    if (Object.keys(sel).length === 0) return; // endpoints of a selector-less Service are the user's
    const selector = LabelSelector.fromMessage({ matchLabels: sel, matchExpressions: [] });
    const pods = this.pods.indexer.byIndex("namespace", namespace).filter((p) => selector.matches(p.metadata?.labels));
    const subsets = desiredSubsets(svc, pods);
    const labels = { ...(svc.metadata?.labels ?? {}) };
    if (current) {
      const same =
        current.subsets.length === subsets.length &&
        current.subsets.every((s, i) => equals(EndpointSubsetSchema, s, subsets[i]!)) &&
        JSON.stringify(current.metadata?.labels ?? {}) === JSON.stringify(labels);
      if (same) return;
      await this.ctx.client.update({ ...current, metadata: { ...current.metadata!, labels }, subsets });
      return;
    }
    try {
      await this.ctx.client.create(
        create(EndpointsSchema, { apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace, labels }, subsets }),
      );
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      this.queue.addAfter(objectKey(svc), 100);
    }
  }
}
