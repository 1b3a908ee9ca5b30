import { describe, expect, it } from "vitest";
import { titleCase } from "./table.js";

describe("Table column names", () => {
  it("read as Kubernetes' do: words capitalized, IP kept whole", () => {
    expect(["NOMINATED NODE", "CLUSTER-IP", "EXTERNAL-IP", "IP", "READINESS GATES", "UP-TO-DATE"].map(titleCase)).toEqual([
      "Nominated Node",
      "Cluster-IP",
      "External-IP",
      "IP",
      "Readiness Gates",
      "Up-to-date",
    ]);
  });
});
