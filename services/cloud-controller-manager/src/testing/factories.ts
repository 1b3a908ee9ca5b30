import { decodeObject, LOAD_BALANCER_CLEANUP_FINALIZER, type Endpoints, type Node, type Service } from "@kubelab/api";

export const service = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}, status: Record<string, unknown> = {}): Service =>
  decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default", uid: "u1", ...meta }, spec, status })
    .obj as Service;

export const lbService = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
  service(
    { type: "LoadBalancer", externalTrafficPolicy: "Cluster", ports: [{ port: 80, nodePort: 30001, protocol: "TCP" }], ...spec },
    meta,
  );

export const withFinalizer = { finalizers: [LOAD_BALANCER_CLEANUP_FINALIZER] };

export const node = (name: string, ip: string, ready = true, labels: Record<string, string> = {}): Node =>
  decodeObject({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
    status: { addresses: [{ type: "InternalIP", address: ip }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  }).obj as Node;

export const endpoints = (addresses: Array<[string, string]>, port = 8080): Endpoints =>
  decodeObject({
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: "default" },
    subsets: [
      {
        addresses: addresses.map(([ip, nodeName]) => ({ ip, nodeName, targetRef: { kind: "Pod", name: `pod-${ip}` } })),
        ports: [{ port, protocol: "TCP" }],
      },
    ],
  }).obj as Endpoints;
