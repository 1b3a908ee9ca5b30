import { performance } from "node:perf_hooks";
import { create } from "@bufbuild/protobuf";
import { NamespaceSchema, PersistentVolumeClaimSchema, PodSchema, type PersistentVolume, type Pod } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import { BenchLab } from "./benchLab.js";
import { record, type Row } from "./results.js";
import { median, percentile } from "./stats.js";

const NS = "bench-storage";
const PAIRS = 8;
const ROUNDS = 3;
const IMAGE = "kubelab/echo:dev";
const now = () => performance.timeOrigin + performance.now();

function benchPod(name: string, claim?: string): Pod {
  return create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: "app", image: IMAGE, volumeMounts: claim ? [{ name: "data", mountPath: "/data" }] : [] }],
      volumes: claim ? [{ name: "data", persistentVolumeClaim: { claimName: claim } }] : [],
    },
  });
}

/** Create (the claim, then the pod) → phase Running, as a watch sees it. */
async function startup(client: ApiClient, name: string, withClaim: boolean): Promise<number> {
  const rv = (await client.list("pods", { namespace: NS, limit: 1 })).resourceVersion;
  const stream = client.watch<Pod>("pods", { namespace: NS, resourceVersion: rv, fieldSelector: `metadata.name=${name}` });
  const t0 = now();
  if (withClaim) {
    await client.create(
      create(PersistentVolumeClaimSchema, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name, namespace: NS },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Mi" } } },
      }),
    );
  }
  await client.create(benchPod(name, withClaim ? name : undefined));
  try {
    for await (const ev of stream) if (ev.object.status?.phase === "Running") return now() - t0;
  } finally {
    stream.stop();
  }
  throw new Error(`${name}: the watch ended before Running`);
}

/** Deletes a round's pods and claims, and waits until the provisioner has removed every volume. */
async function clearRound(client: ApiClient): Promise<void> {
  const pods = (await client.list<Pod>("pods", { namespace: NS })).items;
  await Promise.all(pods.map((p) => client.delete("pods", NS, p.metadata!.name, { gracePeriodSeconds: 0 })));
  const claims = (await client.list("persistentvolumeclaims", { namespace: NS })).items;
  await Promise.all(claims.map((c) => client.delete("persistentvolumeclaims", NS, c.metadata!.name)));
  const deadline = now() + 180_000;
  for (;;) {
    const left = (await client.list<PersistentVolume>("persistentvolumes", {})).items.filter((pv) => pv.spec?.claimRef?.namespace === NS);
    if (left.length === 0 && (await client.list("pods", { namespace: NS })).items.length === 0) return;
    if (now() > deadline) throw new Error(`${NS}: ${left.length} volumes not removed after 180 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * npm run bench -- storage: a pod with a new PersistentVolumeClaim of the default class (local
 * path, WaitForFirstConsumer) → Running, against the same pod without a volume, alternating in
 * the same run.
 */
export default async function run(): Promise<void> {
  const lab = new BenchLab();
  const rows: Row[] = [];
  try {
    await lab.start();
    const client = lab.client;
    await client.create(create(NamespaceSchema, { metadata: { name: NS } }));
    await startup(client, "warm", false);
    await startup(client, "warm-claim", true);
    await clearRound(client);
    const rounds: Array<{ plain: number[]; claimed: number[]; ratio: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const plain: number[] = [];
      const claimed: number[] = [];
      for (let i = 0; i < PAIRS; i++) {
        plain.push(await startup(client, `plain-${round}-${i}`, false));
        claimed.push(await startup(client, `claimed-${round}-${i}`, true));
      }
      rounds.push({ plain, claimed, ratio: median(claimed) / median(plain) });
      await clearRound(client);
    }
    const { plain, claimed, ratio } = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(ROUNDS / 2)]!;
    rows.push({
      metric: `pod without a volume: create → Running, ${PAIRS} pods one at a time, p50`,
      value: `${median(plain).toFixed(0)} ms`,
      target: "",
    });
    rows.push({ metric: "pod with a new claim: claim + pod create → Running, p50", value: `${median(claimed).toFixed(0)} ms`, target: "" });
    rows.push({ metric: "pod with a new claim, p99", value: `${percentile(claimed, 99).toFixed(0)} ms`, target: "" });
    rows.push({
      metric: `ratio with claim / without, p50 (median round of ${ROUNDS})`,
      value: ratio.toFixed(2),
      target: "≤ 1.3",
      pass: ratio <= 1.3,
    });
    record("storage", rows, [
      "On the composed lab. A claimed pod's path: the claim waits for its first consumer; the scheduler picks a node and sets volume.kubernetes.io/selected-node (VolumeBinding PreBind), the local-path provisioner creates the PersistentVolume with that node's affinity, the PV controller binds both, the scheduler binds the pod once the claim is Bound, and the kubelet makes the volume's directory inside the node and mounts it.",
      `Ratios of the ${ROUNDS} rounds (each of ${PAIRS} pairs, alternating; pods, claims and volumes removed between rounds): ${rounds.map((r) => r.ratio.toFixed(2)).join(", ")}; the table shows the median round.`,
    ]);
  } finally {
    await lab.stop();
  }
}
