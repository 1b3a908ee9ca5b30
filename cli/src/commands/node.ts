import { LabDocker, LabNodes } from "@kubelab/chaos";
import { projectOf } from "./chaos.js";

export interface NodeOptions {
  project?: string;
}

/** kubelab node add [NAME]: a new node container (a copy of node-1's) and its kube-proxy, started. */
export async function nodeAdd(name: string | undefined, o: NodeOptions): Promise<void> {
  const lab = new LabDocker(projectOf(o));
  const added = await new LabNodes(lab).add(name);
  process.stdout.write(
    `node/${added.name} added to the lab "${lab.project}": it registers when its kubelet starts (kubelab get nodes -w)\n`,
  );
}

/** kubelab node remove NAME: the node's machine gone (its containers, its pods' containers, its volumes). */
export async function nodeRemove(name: string, o: NodeOptions): Promise<void> {
  const lab = new LabDocker(projectOf(o));
  const { removed } = await new LabNodes(lab).remove(name);
  process.stdout.write(
    `node/${name} removed from the lab "${lab.project}" (${removed.length} containers); the cluster sees its machine gone\n`,
  );
}
