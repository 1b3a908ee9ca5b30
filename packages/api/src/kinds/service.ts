import { create } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { EndpointsSchema, ServiceSchema, type Endpoints, type Service } from "../gen/kubelab/core/v1/service_pb.js";
import { registerKind } from "../registry.js";
import { qualifiedNameErrors, validateLabels } from "../validation/labels.js";
import { dns1123LabelErrors } from "../validation/names.js";
import { type FieldError, duplicate, forbidden, invalid, notSupported, required } from "../validation/fieldErrors.js";
import { age } from "./print.js";

const TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
const TRAFFIC_POLICIES = ["Cluster", "Local"] as const;
/** The finalizer the service controller holds on a LoadBalancer Service until its load balancer is gone. */
export const LOAD_BALANCER_CLEANUP_FINALIZER = "service.kubernetes.io/load-balancer-cleanup";
const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
const AFFINITIES = ["None", "ClientIP"] as const;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

export const isHeadless = (s: Service) => s.spec?.clusterIp === "None";

/** NodePort and LoadBalancer Services are reached from outside the cluster (Kubernetes' ExternallyAccessible, less externalIPs). */
export const isExternallyAccessible = (s: Service) => s.spec?.type === "NodePort" || s.spec?.type === "LoadBalancer";

/** Whether the Service's ports get NodePorts: NodePort, and LoadBalancer unless allocateLoadBalancerNodePorts is false. */
export const needsNodePorts = (s: Service) =>
  s.spec?.type === "NodePort" || (s.spec?.type === "LoadBalancer" && s.spec.allocateLoadBalancerNodePorts !== false);

/** A LoadBalancer with externalTrafficPolicy Local has a healthCheckNodePort (Kubernetes' NeedsHealthCheck). */
export const needsHealthCheck = (s: Service) => s.spec?.type === "LoadBalancer" && s.spec.externalTrafficPolicy === "Local";

/** kubectl's EXTERNAL-IP: externalIPs, and for a LoadBalancer its ingress addresses first, or <pending> while it has none. */
export function serviceExternalIp(s: Service, wide = false): string {
  const external = s.spec?.externalIps ?? [];
  if (s.spec?.type !== "LoadBalancer") return external.length ? external.join(",") : "<none>";
  let lb = (s.status?.loadBalancer?.ingress ?? [])
    .map((i) => i.ip || i.hostname)
    .filter(Boolean)
    .join(",");
  // kubectl shortens a long list unless -o wide.
  if (!wide && lb.length > 16) lb = `${lb.slice(0, 13)}...`;
  const all = [...(lb ? lb.split(",") : []), ...external];
  return all.length ? all.join(",") : "<pending>";
}

/** Kubernetes' IsValidCIDR for an IPv4 range ("10.0.0.0/8"); the lab has no IPv6. */
export function isValidIPv4Cidr(v: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
  return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

/** A Service port's target: a number, or a container port's name. */
export function targetPortOf(v: Value | undefined, port: number): number | string {
  const k = v?.kind;
  if (k?.case === "numberValue" && k.value > 0) return k.value;
  if (k?.case === "stringValue" && k.value) return /^\d+$/.test(k.value) ? Number(k.value) : k.value;
  return port;
}

function validatePorts(s: Service): FieldError[] {
  const errs: FieldError[] = [];
  const ports = s.spec?.ports ?? [];
  if (ports.length === 0 && !isHeadless(s)) errs.push(required("spec.ports"));
  const names = new Set<string>();
  const nodePorts = new Set<number>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(required(`${f}.name`));
    if (p.name) {
      for (const m of dns1123LabelErrors(p.name)) errs.push(invalid(`${f}.name`, p.name, m));
      if (names.has(p.name)) errs.push(duplicate(`${f}.name`, p.name));
      names.add(p.name);
    }
    if (p.port < 1 || p.port > 65535) errs.push(invalid(`${f}.port`, p.port, "must be between 1 and 65535, inclusive"));
    if (!PROTOCOLS.includes(p.protocol as never)) errs.push(notSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
    const t = targetPortOf(p.targetPort, p.port);
    if (typeof t === "number" && (t < 1 || t > 65535)) errs.push(invalid(`${f}.targetPort`, t, "must be between 1 and 65535, inclusive"));
    if (typeof t === "string" && !IANA_SVC_NAME.test(t)) {
      errs.push(
        invalid(
          `${f}.targetPort`,
          t,
          "must contain only lower-case alphanumeric characters or '-', at most 15, starting and ending with an alphanumeric character",
        ),
      );
    }
    if (p.nodePort && nodePorts.has(p.nodePort)) errs.push(duplicate(`${f}.nodePort`, p.nodePort));
    if (p.nodePort) nodePorts.add(p.nodePort);
    if (p.nodePort && !isExternallyAccessible(s))
      errs.push(forbidden(`${f}.nodePort`, `may not be used when \`type\` is '${s.spec?.type}'`));
  });
  return errs;
}

/**
 * Kubernetes' dropTypeDependentFields: an update that changes a Service's type (or its traffic
 * policy) drops what only the old one needed — NodePorts, the healthCheckNodePort,
 * allocateLoadBalancerNodePorts, loadBalancerClass, externalTrafficPolicy — when the client left
 * them as they were (a value the client changed is its own, and validation judges it).
 */
function dropTypeDependentFields(s: Service, old: Service): void {
  const spec = s.spec;
  const was = old.spec;
  if (!spec || !was) return;
  if (!needsNodePorts(s) && spec.type !== "LoadBalancer") {
    for (const p of spec.ports) if (p.nodePort && was.ports.some((o) => o.nodePort === p.nodePort)) p.nodePort = 0;
  }
  if (!needsHealthCheck(s) && spec.healthCheckNodePort === was.healthCheckNodePort) spec.healthCheckNodePort = 0;
  if (spec.type !== "LoadBalancer") {
    if (spec.allocateLoadBalancerNodePorts === was.allocateLoadBalancerNodePorts) spec.allocateLoadBalancerNodePorts = undefined;
    if (spec.loadBalancerClass === was.loadBalancerClass) spec.loadBalancerClass = undefined;
  }
  if (!isExternallyAccessible(s) && spec.externalTrafficPolicy === was.externalTrafficPolicy) spec.externalTrafficPolicy = "";
}

/** Kubernetes' checks of the fields only externally reachable Services, or only LoadBalancers, may set. */
function validateLoadBalancerFields(s: Service): FieldError[] {
  const spec = s.spec!;
  const errs: FieldError[] = [];
  const lb = spec.type === "LoadBalancer";
  if (!isExternallyAccessible(s)) {
    if (spec.externalTrafficPolicy)
      errs.push(invalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set for externally-accessible services"));
    if (spec.healthCheckNodePort)
      errs.push(invalid("spec.healthCheckNodePort", spec.healthCheckNodePort, "may only be set for externally-accessible services"));
  } else {
    if (!TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy as never))
      errs.push(notSupported("spec.externalTrafficPolicy", spec.externalTrafficPolicy, TRAFFIC_POLICIES));
    if (spec.healthCheckNodePort && !needsHealthCheck(s))
      errs.push(
        invalid(
          "spec.healthCheckNodePort",
          spec.healthCheckNodePort,
          "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ),
      );
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && !lb)
    errs.push(forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
  if (spec.loadBalancerClass !== undefined) {
    if (!lb) errs.push(forbidden("spec.loadBalancerClass", "may only be used when service type is 'LoadBalancer'"));
    for (const m of qualifiedNameErrors(spec.loadBalancerClass)) errs.push(invalid("spec.loadBalancerClass", spec.loadBalancerClass, m));
  }
  if (spec.loadBalancerSourceRanges.length > 0) {
    // Kubernetes' own field path, capital L (a leftover of the annotation it replaced).
    const f = "spec.LoadBalancerSourceRanges";
    if (!lb) errs.push(forbidden(f, "may only be used when `type` is 'LoadBalancer'"));
    spec.loadBalancerSourceRanges.forEach((r, i) => {
      if (!isValidIPv4Cidr(r.trim()))
        errs.push(invalid(`${f}[${i}]`, r, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
    });
  }
  if (spec.loadBalancerIp && !lb) errs.push(forbidden("spec.loadBalancerIP", "may only be used when `type` is 'LoadBalancer'"));
  return errs;
}

registerKind<Service>({
  kind: "Service",
  apiVersion: "v1",
  resource: "services",
  categories: ["all"],
  singular: "service",
  shortNames: ["svc"],
  namespaced: true,
  schema: ServiceSchema,
  nameRule: "label",
  hasStatus: true,
  selectableFields: { "spec.clusterIP": (s) => s.spec?.clusterIp ?? "", "spec.type": (s) => s.spec?.type ?? "" },
  prepareForUpdate: dropTypeDependentFields,
  defaults: (s) => {
    const spec = s.spec;
    if (!spec) return;
    if (!spec.type) spec.type = "ClusterIP";
    if (!spec.sessionAffinity) spec.sessionAffinity = "None";
    if (spec.sessionAffinity === "ClientIP") {
      spec.sessionAffinityConfig ??= { $typeName: "kubelab.core.v1.SessionAffinityConfig" };
      spec.sessionAffinityConfig.clientIp ??= { $typeName: "kubelab.core.v1.ClientIPConfig" };
      spec.sessionAffinityConfig.clientIp.timeoutSeconds ??= 10800;
    }
    if (!spec.internalTrafficPolicy) spec.internalTrafficPolicy = "Cluster";
    if (isExternallyAccessible(s) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = "Cluster";
    if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
    for (const p of spec.ports) {
      if (!p.protocol) p.protocol = "TCP";
      // Kubernetes defaults an empty targetPort, 0 or "" (what a typed client sends for none), to the port.
      if (!p.targetPort?.kind.value) p.targetPort = create(ValueSchema, { kind: { case: "numberValue", value: p.port } });
    }
    if (spec.clusterIp && spec.clusterIps.length === 0) spec.clusterIps = [spec.clusterIp];
    if (spec.clusterIp && spec.clusterIp !== "None") {
      if (spec.ipFamilies.length === 0) spec.ipFamilies = ["IPv4"];
      if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = "SingleStack";
    }
  },
  validate: (s) => {
    const errs = validatePorts(s);
    const spec = s.spec;
    if (!spec) return [required("spec")];
    if (!TYPES.includes(spec.type as never)) errs.push(notSupported("spec.type", spec.type, TYPES));
    if (!AFFINITIES.includes(spec.sessionAffinity as never))
      errs.push(notSupported("spec.sessionAffinity", spec.sessionAffinity, AFFINITIES));
    if (isHeadless(s) && spec.type === "NodePort")
      errs.push(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for NodePort services"));
    errs.push(...validateLabels("spec.selector", spec.selector));
    errs.push(...validateLoadBalancerFields(s));
    return errs;
  },
  validateUpdate: (s, old) => {
    const was = old.spec?.clusterIp ?? "";
    const now = s.spec?.clusterIp ?? "";
    // An update that leaves clusterIP out keeps the allocated one (the allocator copies it over).
    if (was && now && was !== now) return [invalid("spec.clusterIPs[0]", now, "may not change once set")];
    // A load balancer's class is chosen once: another implementation cannot take it over.
    if (old.spec?.type === "LoadBalancer" && s.spec?.type === "LoadBalancer" && old.spec.loadBalancerClass !== s.spec.loadBalancerClass)
      return [invalid("spec.loadBalancerClass", s.spec.loadBalancerClass ?? null, "may not change once set")];
    return [];
  },
  columns: [
    { name: "TYPE", value: (s) => s.spec?.type ?? "" },
    { name: "CLUSTER-IP", value: (s) => s.spec?.clusterIp || "<none>" },
    { name: "EXTERNAL-IP", value: (s) => serviceExternalIp(s) },
    {
      name: "PORT(S)",
      value: (s) => (s.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol}`).join(",") || "<none>",
    },
    { name: "AGE", value: (s, now) => age(s.metadata?.creationTimestamp, now) },
    {
      name: "SELECTOR",
      value: (s) =>
        Object.entries(s.spec?.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(",") || "<none>",
      wide: true,
    },
  ],
});

/** kubectl's ENDPOINTS column: up to three ip:port, then "+ N more...". */
function endpointsColumn(e: Endpoints): string {
  const all: string[] = [];
  for (const s of e.subsets)
    for (const a of s.addresses) for (const p of s.ports.length ? s.ports : [undefined]) all.push(p ? `${a.ip}:${p.port}` : a.ip);
  if (all.length === 0) return "<none>";
  return all.length > 3 ? `${all.slice(0, 3).join(",")} + ${all.length - 3} more...` : all.join(",");
}

registerKind<Endpoints>({
  kind: "Endpoints",
  apiVersion: "v1",
  resource: "endpoints",
  singular: "endpoints",
  shortNames: ["ep"],
  namespaced: true,
  schema: EndpointsSchema,
  nameRule: "subdomain",
  hasStatus: false,
  columns: [
    { name: "ENDPOINTS", value: endpointsColumn },
    { name: "AGE", value: (e, now) => age(e.metadata?.creationTimestamp, now) },
  ],
});
