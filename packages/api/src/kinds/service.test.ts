import { describe, expect, it } from "vitest";
import "./index.js";
import { decodeObject } from "../codec.js";
import { kindFor } from "../registry.js";
import type { Service } from "../gen/kubelab/core/v1/service_pb.js";

const serviceDef = kindFor("v1", "Service")!;
const service = (ports: Array<Record<string, unknown>>) => {
  const s = decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports } }).obj as Service;
  serviceDef.defaults!(s);
  return s;
};

describe("Service defaulting", () => {
  it('defaults a missing or empty targetPort (0 or "", what a typed client sends for none) to the port', () => {
    const s = service([{ port: 80 }, { port: 81, targetPort: 0 }, { port: 82, targetPort: "" }, { port: 83, targetPort: "http" }]);
    expect(s.spec!.ports.map((p) => p.targetPort?.kind.value)).toEqual([80, 81, 82, "http"]);
  });
});
