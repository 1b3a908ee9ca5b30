import { decodeObject, type Deployment } from "@kubelab/api";

/** A Deployment of `replicas` pods labelled app=<name>, with the given containers and a 1 s grace period. */
export function deploymentOf(namespace: string, name: string, replicas: number, containers: object[]): Deployment {
  return decodeObject({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers } },
    },
  }).obj as Deployment;
}
