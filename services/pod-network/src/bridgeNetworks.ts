import type Docker from "dockerode";
import { formatIPv4, parseIPv4Cidr } from "@kubelab/service-kit";

export interface BridgeNetwork {
  id: string;
  name: string;
  /** The Linux bridge in the host's namespace. */
  bridge: string;
  subnet: string;
  gateway: string;
}

/** The Docker bridge networks pods join, looked up once each (a network's bridge and subnet do not change). */
export class BridgeNetworks {
  private readonly cache = new Map<string, Promise<BridgeNetwork>>();

  constructor(private readonly docker: Docker) {}

  get(nameOrId: string): Promise<BridgeNetwork> {
    let found = this.cache.get(nameOrId);
    if (!found) {
      found = this.lookUp(nameOrId);
      this.cache.set(nameOrId, found);
      found.catch(() => this.cache.delete(nameOrId));
    }
    return found;
  }

  private async lookUp(nameOrId: string): Promise<BridgeNetwork> {
    const info = (await this.docker.getNetwork(nameOrId).inspect()) as {
      Id: string;
      Name: string;
      Driver: string;
      Options?: Record<string, string>;
      IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
    };
    if (info.Driver !== "bridge") throw new Error(`network "${info.Name}" has driver "${info.Driver}": pods join bridge networks only`);
    const v4 = info.IPAM?.Config?.find((c) => c.Subnet && !c.Subnet.includes(":"));
    const subnet = v4?.Subnet ? parseIPv4Cidr(v4.Subnet) : undefined;
    if (!v4?.Subnet || !subnet) throw new Error(`network "${info.Name}" has no IPv4 subnet`);
    return {
      id: info.Id,
      name: info.Name,
      bridge: info.Options?.["com.docker.network.bridge.name"] || `br-${info.Id.slice(0, 12)}`,
      subnet: v4.Subnet,
      // Docker shows the gateway only when it chose the subnet itself; otherwise it is the first host.
      gateway: v4.Gateway || formatIPv4(subnet.base + 1),
    };
  }
}
