// Writes packages/api/src/kubernetesProtobuf/fields.generated.ts: Kubernetes' protobuf field
// numbers (the wire contract of `Content-Type: application/vnd.kubernetes.protobuf` bodies), read
// from k8s.io/api's and k8s.io/apimachinery's generated.proto files, for only the messages the
// decoder can meet: those reachable from the root kinds below.
//
// Run by hand (not by the build) when a kind is added or Kubernetes is updated:
//
//   node scripts/generate-kubernetes-protobuf-fields.mjs [K8S_IO_API_CHECKOUT] [K8S_IO_APIMACHINERY_CHECKOUT]
//
// Each checkout is a git repository (a bare one will do) of github.com/kubernetes/api and of
// github.com/kubernetes/apimachinery; HEAD of each is read, and its commit recorded in the output.
// They default to /work/.mirror/kubernetes+api/repo and /work/.mirror/kubernetes+apimachinery/repo.
// The .proto files are laid out in a temporary directory as k8s.io/api/... and
// k8s.io/apimachinery/..., as their imports name them, and compiled with `buf build` (from
// node_modules); nothing of them is kept but the table.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUTPUT = path.join(root, "packages/api/src/kubernetesProtobuf/fields.generated.ts");
const [apiCheckout = "/work/.mirror/kubernetes+api/repo", apimachineryCheckout = "/work/.mirror/kubernetes+apimachinery/repo"] =
  process.argv.slice(2);

/**
 * The kinds a body may hold, by apiVersion/kind, with their messages: every kind the API server
 * stores (decode.test.ts checks that none is missing), the bodies of its subresources (Binding,
 * Scale), and kinds to come (CronJob, Eviction, TokenRequest, SelfSubjectAccessReview). "*" is any
 * apiVersion: apimachinery registers the options kinds in every group version, and client-go
 * sends a DeleteOptions in its request's own.
 */
const ROOTS = {
  "v1/Pod": "k8s.io.api.core.v1.Pod",
  "v1/Node": "k8s.io.api.core.v1.Node",
  "v1/Namespace": "k8s.io.api.core.v1.Namespace",
  "v1/Service": "k8s.io.api.core.v1.Service",
  "v1/Endpoints": "k8s.io.api.core.v1.Endpoints",
  "v1/Event": "k8s.io.api.core.v1.Event",
  "v1/ConfigMap": "k8s.io.api.core.v1.ConfigMap",
  "v1/Secret": "k8s.io.api.core.v1.Secret",
  "v1/Binding": "k8s.io.api.core.v1.Binding",
  "v1/PersistentVolume": "k8s.io.api.core.v1.PersistentVolume",
  "v1/PersistentVolumeClaim": "k8s.io.api.core.v1.PersistentVolumeClaim",
  "storage.k8s.io/v1/StorageClass": "k8s.io.api.storage.v1.StorageClass",
  "apps/v1/Deployment": "k8s.io.api.apps.v1.Deployment",
  "apps/v1/ReplicaSet": "k8s.io.api.apps.v1.ReplicaSet",
  "batch/v1/Job": "k8s.io.api.batch.v1.Job",
  "batch/v1/CronJob": "k8s.io.api.batch.v1.CronJob",
  "coordination.k8s.io/v1/Lease": "k8s.io.api.coordination.v1.Lease",
  "autoscaling/v2/HorizontalPodAutoscaler": "k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler",
  "autoscaling/v1/Scale": "k8s.io.api.autoscaling.v1.Scale",
  "policy/v1/Eviction": "k8s.io.api.policy.v1.Eviction",
  "authentication.k8s.io/v1/TokenRequest": "k8s.io.api.authentication.v1.TokenRequest",
  "authorization.k8s.io/v1/SelfSubjectAccessReview": "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
  "*/DeleteOptions": "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
};

/**
 * Messages whose JSON form is not their fields (a Quantity is a string, a Time an RFC 3339
 * string...): the decoder converts each by name (decode.ts), so their own fields are listed but
 * not followed.
 */
const SPECIAL = new Set([
  "k8s.io.apimachinery.pkg.api.resource.Quantity",
  "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
  "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
  "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
  "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
]);
/** Special in Kubernetes' JSON too, but no root reaches them, so the decoder has no conversion for them yet. */
const UNCONVERTED = new Set(["k8s.io.apimachinery.pkg.apis.meta.v1.Duration", "k8s.io.apimachinery.pkg.runtime.RawExtension"]);
/** The envelope of every body after the magic bytes: typeMeta, then the object's bytes in raw. */
const ENVELOPE = "k8s.io.apimachinery.pkg.runtime.Unknown";

/** "k8s.io.api.core.v1.Pod" → "core.v1.Pod", "k8s.io.apimachinery.pkg.apis.meta.v1.Time" → "meta.v1.Time". */
const shortName = (typeName) => typeName.replace(/^k8s\.io\.(api|apimachinery\.pkg(\.apis|\.api|\.util)?)\./, "");

const git = (dir, ...args) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });

function layOut(checkout, under, tmp) {
  const files = git(checkout, "ls-tree", "-r", "--name-only", "HEAD")
    .split("\n")
    .filter((f) => f.endsWith("/generated.proto"));
  const dest = path.join(tmp, under);
  mkdirSync(dest, { recursive: true });
  const archive = execFileSync("git", ["-C", checkout, "archive", "HEAD", ...files], { maxBuffer: 256 << 20 });
  execFileSync("tar", ["-x", "-C", dest], { input: archive });
  return git(checkout, "rev-parse", "HEAD").trim();
}

function compile() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "kubernetes-protobuf-"));
  try {
    const apiCommit = layOut(apiCheckout, "k8s.io/api", tmp);
    const apimachineryCommit = layOut(apimachineryCheckout, "k8s.io/apimachinery", tmp);
    const image = path.join(tmp, "image.binpb");
    execFileSync(path.join(root, "node_modules/.bin/buf"), ["build", tmp, "-o", image], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(image)));
    return { registry, apiCommit, apimachineryCommit };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// The scalar types the decoder reads (decode.ts), by descriptor.proto's ScalarType numbers: the
// only ones the root kinds use.
const SCALAR_NAMES = { 3: "int64", 5: "int32", 8: "bool", 9: "string", 12: "bytes" };

/** A field as the decoder reads it: "number:jsonName:type", type prefixed [] if repeated, {} if a map (keys are strings). */
function fieldSpec(f, follow) {
  // go-to-protobuf names each field after its JSON tag, so the .proto name is the JSON name.
  const name = f.name;
  const typeOf = (kind, scalar, message) => {
    if (kind === "scalar") {
      if (!SCALAR_NAMES[scalar]) throw new Error(`${f.parent.typeName}.${name}: scalar type ${scalar}: teach decode.ts to read it first`);
      return SCALAR_NAMES[scalar];
    }
    if (kind === "message") {
      follow(message);
      return shortName(message.typeName);
    }
    throw new Error(`${f.parent.typeName}.${name}: ${kind} fields are not read by the decoder`);
  };
  switch (f.fieldKind) {
    case "scalar":
      return `${f.number}:${name}:${typeOf("scalar", f.scalar)}`;
    case "message":
      return `${f.number}:${name}:${typeOf("message", undefined, f.message)}`;
    case "list":
      return `${f.number}:${name}:[]${typeOf(f.listKind, f.scalar, f.message)}`;
    case "map":
      if (f.mapKey !== 9) throw new Error(`${f.parent.typeName}.${name}: a map whose keys are not strings`);
      return `${f.number}:${name}:{}${typeOf(f.mapKind, f.scalar, f.message)}`;
    default:
      throw new Error(`${f.parent.typeName}.${name}: ${f.fieldKind} fields are not read by the decoder`);
  }
}

/** The comment above a top-level message (every message of a generated.proto is one). */
function leadingComment(desc) {
  const index = desc.file.messages.indexOf(desc);
  const at = desc.file.proto.sourceCodeInfo?.location.find((l) => l.path.length === 2 && l.path[0] === 4 && l.path[1] === index);
  return at?.leadingComments ?? "";
}

function table(registry) {
  const messages = new Map();
  const listWrappers = [];
  const visit = (desc) => {
    if (UNCONVERTED.has(desc.typeName)) throw new Error(`a root reaches ${desc.typeName}: teach decode.ts its JSON form first`);
    const name = shortName(desc.typeName);
    if (messages.has(name)) {
      if (messages.get(name).typeName !== desc.typeName) throw new Error(`${name} names two messages`);
      return;
    }
    const entry = { typeName: desc.typeName, fields: [] };
    messages.set(name, entry);
    entry.fields = desc.fields.map((f) => fieldSpec(f, SPECIAL.has(desc.typeName) ? () => {} : visit));
    // Go's `type AttestationValue []string` and its kin: a message on the wire, a list in JSON.
    if (/\+protobuf\.nullable=true/.test(leadingComment(desc))) {
      if (desc.fields.length !== 1 || desc.fields[0].fieldKind !== "list") throw new Error(`${desc.typeName} wraps no one list`);
      listWrappers.push(name);
    }
  };
  visit(registry.getMessage(ENVELOPE));
  const roots = {};
  for (const [kind, typeName] of Object.entries(ROOTS)) {
    const desc = registry.getMessage(typeName);
    if (!desc) throw new Error(`${typeName} (${kind}) is not in the .proto files`);
    visit(desc);
    roots[kind] = shortName(typeName);
  }
  return { roots, messages: [...messages].sort(([a], [b]) => a.localeCompare(b)), listWrappers: listWrappers.sort() };
}

const { registry, apiCommit, apimachineryCommit } = compile();
mkdirSync(path.dirname(OUTPUT), { recursive: true });
const { roots, messages, listWrappers } = table(registry);
const q = JSON.stringify;
writeFileSync(
  OUTPUT,
  `// Generated by scripts/generate-kubernetes-protobuf-fields.mjs: do not edit.
//
// Kubernetes' protobuf field numbers, the wire contract of \`application/vnd.kubernetes.protobuf\`
// bodies (what client-go's typed clients send), from the generated.proto files of k8s.io/api at
// ${apiCommit} and k8s.io/apimachinery at ${apimachineryCommit}.
// Only the envelope (runtime.Unknown) and the messages reachable from the root kinds are here.
// Each field is "number:jsonName:type": a type is a scalar's .proto name or a message's short name
// (its package less "k8s.io.api." or "k8s.io.apimachinery.pkg.[apis.|api.|util.]"), prefixed []
// when repeated and {} when a map with string keys.

/** The message of each kind a body may hold, by "apiVersion/kind" ("*" for any apiVersion). */
export const kubernetesProtobufRoots: Readonly<Record<string, string>> = {
${Object.entries(roots)
  .map(([k, v]) => `  ${q(k)}: ${q(v)},`)
  .join("\n")}
};

/** Each message's fields, space-separated. */
export const kubernetesProtobufMessages: Readonly<Record<string, string>> = {
${messages.map(([name, m]) => `  ${q(name)}: ${q(m.fields.join(" "))},`).join("\n")}
};

/** Messages that wrap one list (Go's \`type AttestationValue []string\`, "+protobuf.nullable=true"): in JSON, the list. */
export const kubernetesProtobufListWrappers: ReadonlySet<string> = new Set(${q(listWrappers)});
`,
);
execFileSync(path.join(root, "node_modules/.bin/biome"), ["format", "--write", OUTPUT], { stdio: "pipe" });
process.stdout.write(`${path.relative(root, OUTPUT)}: ${messages.length} messages from ${Object.keys(roots).length} roots\n`);
