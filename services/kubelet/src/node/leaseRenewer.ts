import { formatMicroTime } from "@kubelab/api";
import { create } from "@bufbuild/protobuf";
import { LeaseSchema, type Lease } from "@kubelab/api";
import { isNotFound, type ApiClient } from "@kubelab/client";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/**
 * The node's heartbeat: a Lease in kube-node-lease named after the node, renewed every quarter
 * of its duration (the kubelet's own rhythm), so the node lifecycle controller can tell a dead
 * node from a quiet one without the cost of full Node status writes.
 */
export class LeaseRenewer {
  private timer: NodeJS.Timeout | undefined;
  private lease: Lease | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly nodeName: string,
    private readonly nodeUid: string,
    private readonly durationSeconds: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  start(): void {
    const tick = () => {
      this.renew()
        .catch(this.onError)
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, (this.durationSeconds * 1000) / 4);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  async renew(): Promise<void> {
    if (this.lease) {
      this.lease.spec!.renewTime = formatMicroTime();
      try {
        this.lease = await this.client.update(this.lease);
        return;
      } catch (e) {
        // A conflict or a vanished lease: read it again next time round.
        this.lease = undefined;
        if (!isNotFound(e)) throw e;
      }
    }
    try {
      this.lease = await this.client.get<Lease>("leases", NODE_LEASE_NAMESPACE, this.nodeName);
      this.lease.spec!.renewTime = formatMicroTime();
      this.lease.spec!.holderIdentity = this.nodeName;
      this.lease = await this.client.update(this.lease);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.lease = await this.client.create(
        create(LeaseSchema, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name: this.nodeName,
            namespace: NODE_LEASE_NAMESPACE,
            ownerReferences: [{ apiVersion: "v1", kind: "Node", name: this.nodeName, uid: this.nodeUid }],
          },
          spec: { holderIdentity: this.nodeName, leaseDurationSeconds: this.durationSeconds, renewTime: formatMicroTime() },
        }),
      );
    }
  }
}
