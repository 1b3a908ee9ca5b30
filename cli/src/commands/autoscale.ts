import { create } from "@bufbuild/protobuf";
import { HorizontalPodAutoscalerSchema, MetricSpecSchema } from "@kubelab/api";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";
import { resolveKinds } from "./resolve.js";

export interface AutoscaleOptions extends GlobalOptions {
  min?: string;
  max?: string;
  cpuPercent?: string;
  name?: string;
}

const integerFlag = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`invalid argument "${v}" for "--${flag}" flag: must be an integer`);
  return n;
};

/** kubectl autoscale: an autoscaling/v2 HorizontalPodAutoscaler for a Deployment or ReplicaSet. */
export async function autoscale(args: string[], opts: AutoscaleOptions): Promise<void> {
  const [first, second] = args;
  if (!first) throw new UsageError("required resource not specified");
  const [kindArg, name] = first.includes("/") ? first.split("/", 2) : [first, second];
  if (!name) throw new UsageError(`you must specify the name of the ${kindArg}`);
  const def = resolveKinds(kindArg!)[0]!;
  if (def.resource !== "deployments" && def.resource !== "replicasets")
    throw new UsageError(`cannot autoscale a ${def.kind}: only deployments and replicasets have a scale subresource here`);
  const max = integerFlag("max", opts.max) ?? 0;
  const min = integerFlag("min", opts.min);
  const cpuPercent = integerFlag("cpu-percent", opts.cpuPercent);
  if (max < 1) throw new UsageError(`--max=MAXPODS is required and must be at least 1, max: ${max}`);
  if (min !== undefined && max < min)
    throw new UsageError(`--max=MAXPODS must be larger or equal to --min=MINPODS, max: ${max}, min: ${min}`);
  const namespace = namespaceOf(opts);
  const client = connect(opts);
  try {
    // Without --cpu-percent the server's default target applies (80%), as with kubectl.
    const hpa = create(HorizontalPodAutoscalerSchema, {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: opts.name || name, namespace },
      spec: {
        scaleTargetRef: { apiVersion: def.apiVersion, kind: def.kind, name },
        minReplicas: min !== undefined && min >= 0 ? min : undefined,
        maxReplicas: max,
        metrics:
          cpuPercent !== undefined && cpuPercent >= 0
            ? [
                create(MetricSpecSchema, {
                  type: "Resource",
                  resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpuPercent } },
                }),
              ]
            : [],
      },
    });
    await client.create(hpa);
    process.stdout.write(`horizontalpodautoscaler.autoscaling/${hpa.metadata!.name} autoscaled\n`);
  } finally {
    client.close();
  }
}
