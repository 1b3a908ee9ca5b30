import type { Node } from "../gen/kubelab/core/v1/node_pb.js";

/** Whether the node's Ready condition is True (a node with none is not ready). */
export const isNodeReady = (node: Node): boolean => node.status?.conditions.find((c) => c.type === "Ready")?.status === "True";
