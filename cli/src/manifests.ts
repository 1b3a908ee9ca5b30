import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { decodeObject, InvalidObjectError, type KindDefinition, type KubeObject } from "@kubelab/api";
import { UsageError } from "./errors.js";

export interface Manifest {
  def: KindDefinition;
  obj: KubeObject;
  /** Where it came from, for messages: "file.yaml#2". */
  source: string;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/**
 * YAML 1.1's octal integers (0400), as kubectl reads manifests (go-yaml): file modes are written
 * so (defaultMode: 0400), where YAML 1.2 would read the decimal 400.
 */
const yaml11Octal = {
  identify: (v: unknown) => typeof v === "number",
  default: true,
  tag: "tag:yaml.org,2002:int",
  format: "OCT",
  test: /^0[0-7]+$/,
  resolve: (s: string) => Number.parseInt(s, 8),
};

function filesOf(arg: string): string[] {
  if (arg === "-") return ["-"];
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(arg);
  } catch {
    throw new UsageError(`the path "${arg}" does not exist`);
  }
  if (!st.isDirectory()) return [arg];
  return readdirSync(arg)
    .filter((f) => MANIFEST_EXT.test(f))
    .sort()
    .map((f) => path.join(arg, f));
}

/**
 * Every object in the given files, directories or stdin ("-"), decoded strictly. All are
 * decoded before the caller sends anything, so one bad document means nothing is written.
 */
export function readManifests(args: readonly string[], readStdin: () => string = () => readFileSync(0, "utf8")): Manifest[] {
  const out: Manifest[] = [];
  const problems: string[] = [];
  for (const file of args.flatMap(filesOf)) {
    const text = file === "-" ? readStdin() : readFileSync(file, "utf8");
    const name = file === "-" ? "<stdin>" : file;
    parseAllDocuments(text, { customTags: (tags) => [yaml11Octal, ...tags] }).forEach((doc, i) => {
      const source = `${name}#${i + 1}`;
      if (doc.errors.length) {
        problems.push(`${source}: ${doc.errors[0].message}`);
        return;
      }
      const json = doc.toJSON() as unknown;
      if (json === null || json === undefined) return;
      try {
        out.push({ ...decodeObject(json), source });
      } catch (e) {
        if (e instanceof InvalidObjectError) problems.push(`${source}: ${e.message}`);
        else throw e;
      }
    });
  }
  if (problems.length) throw new UsageError(problems.join("\n"));
  if (out.length === 0) throw new UsageError("no objects passed to apply");
  return out;
}

/** Namespaces first, so a file that makes a namespace and objects in it applies in one go. */
export function inApplyOrder(manifests: Manifest[]): Manifest[] {
  return [...manifests].sort((a, b) => Number(b.def.kind === "Namespace") - Number(a.def.kind === "Namespace"));
}
