// What each etcd member says of itself: reached from the host at its address on the lab's
// network (Maintenance.Status, one call per member), so a member that is stopped, paused or cut
// off shows as unreachable rather than hiding behind the others.
import { Etcd3 } from "etcd3";
import type { Component, LabDocker } from "./labDocker.js";

export interface MemberStatus {
  /** The component ("etcd-0"). */
  name: string;
  reachable: boolean;
  /** This member's id, and the one it believes leads ("0" when it knows of none). */
  memberId?: string;
  leaderId?: string;
  raftTerm?: string;
}

const STATUS_TIMEOUT_MS = 800;

export class EtcdMembers {
  private readonly clients = new Map<string, { address: string; client: Etcd3 }>();

  constructor(private readonly lab: LabDocker) {}

  private clientFor(c: Component): Etcd3 | undefined {
    const address = Object.values(c.addresses)[0];
    if (!address) return undefined;
    const cached = this.clients.get(c.name);
    if (cached?.address === address) return cached.client;
    cached?.client.close();
    const client = new Etcd3({ hosts: `http://${address}:2379`, dialTimeout: STATUS_TIMEOUT_MS });
    this.clients.set(c.name, { address, client });
    return client;
  }

  /** Every member's own answer, or unreachable within the timeout. */
  async statuses(components?: Component[]): Promise<MemberStatus[]> {
    const members = (components ?? (await this.lab.components())).filter((c) => c.kind === "etcd");
    return Promise.all(
      members.map(async (c): Promise<MemberStatus> => {
        const client = c.state === "running" ? this.clientFor(c) : undefined;
        if (!client) return { name: c.name, reachable: false };
        try {
          const s = await client.maintenance.status({ deadline: Date.now() + STATUS_TIMEOUT_MS });
          return { name: c.name, reachable: true, memberId: s.header.member_id, leaderId: s.leader, raftTerm: s.raftTerm };
        } catch {
          // A fresh client next time: etcd3's own fault handling would keep a host it gave up on
          // out of use for a while after it answers again.
          this.clients.get(c.name)?.client.close();
          this.clients.delete(c.name);
          return { name: c.name, reachable: false };
        }
      }),
    );
  }

  close(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/**
 * The leader by the members' own answers: the member whose id a majority of the reachable members
 * name as leader, counting only members that themselves answer; undefined while there is none
 * (an election, or no quorum).
 */
export function etcdLeader(statuses: MemberStatus[]): string | undefined {
  const reachable = statuses.filter((s) => s.reachable && s.memberId);
  const votes = new Map<string, number>();
  for (const s of reachable) if (s.leaderId && s.leaderId !== "0") votes.set(s.leaderId, (votes.get(s.leaderId) ?? 0) + 1);
  const quorum = Math.floor(statuses.length / 2) + 1;
  for (const [id, n] of votes) {
    const leader = reachable.find((s) => s.memberId === id);
    if (leader && n >= quorum) return leader.name;
  }
  return undefined;
}
