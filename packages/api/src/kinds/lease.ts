import { LeaseSchema, type Lease } from "../gen/kubelab/coordination/v1/lease_pb.js";
import { registerKind } from "../registry.js";
import { invalid, type FieldError } from "../validation/fieldErrors.js";
import { age, orNone } from "./print.js";

registerKind<Lease>({
  kind: "Lease",
  apiVersion: "coordination.k8s.io/v1",
  resource: "leases",
  singular: "lease",
  shortNames: [],
  namespaced: true,
  schema: LeaseSchema,
  nameRule: "subdomain",
  hasStatus: false,
  validate: (l) => {
    const errs: FieldError[] = [];
    const d = l.spec?.leaseDurationSeconds;
    if (d !== undefined && d <= 0) errs.push(invalid("spec.leaseDurationSeconds", d, "must be greater than 0"));
    const t = l.spec?.leaseTransitions;
    if (t !== undefined && t < 0) errs.push(invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"));
    return errs;
  },
  columns: [
    { name: "HOLDER", value: (l) => orNone(l.spec?.holderIdentity) },
    { name: "AGE", value: (l, now) => age(l.metadata?.creationTimestamp, now) },
  ],
});
