import { Gauge, type Registry } from "prom-client";

/**
 * The leader election flags kube-scheduler and kube-controller-manager share, with Kubernetes'
 * names and defaults (the lab sets shorter times in compose.yaml).
 */
export const leaderElectionOptions = {
  leaderElect: {
    flag: "leader-elect",
    description: "run for the lead among copies of this component; only the leader acts",
    default: true,
  },
  leaderElectLeaseDurationSeconds: {
    flag: "leader-elect-lease-duration",
    description: "how long a leader's claim lasts after its last renewal, as the others see it",
    default: 15,
    duration: true,
  },
  leaderElectRenewDeadlineSeconds: {
    flag: "leader-elect-renew-deadline",
    description: "how long the leader keeps trying to renew before it stops acting",
    default: 10,
    duration: true,
  },
  leaderElectRetryPeriodSeconds: {
    flag: "leader-elect-retry-period",
    description: "the wait between tries to acquire or renew the lease",
    default: 2,
    duration: true,
  },
  leaderElectResourceNamespace: { flag: "leader-elect-resource-namespace", description: "namespace of the Lease", default: "kube-system" },
};

/** Kubernetes' leader_election_master_status{name}: 1 while this copy leads, 0 otherwise. */
export function leaderElectionStatus(registry: Registry, name: string, isLeader: () => boolean): Gauge {
  return new Gauge({
    name: "leader_election_master_status",
    help: "Whether this copy is the leader (1) or not (0) of the named election",
    labelNames: ["name"],
    registers: [registry],
    collect() {
      this.set({ name }, isLeader() ? 1 : 0);
    },
  });
}
