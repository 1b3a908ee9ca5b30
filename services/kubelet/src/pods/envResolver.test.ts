import { describe, expect, it } from "vitest";
import { expand } from "./envResolver.js";

describe("$(VAR) expansion", () => {
  const vars = new Map([
    ["A", "alpha"],
    ["B", "beta"],
  ]);
  it("replaces defined variables and keeps undefined ones as written", () => {
    expect(expand("$(A)-$(B)", vars)).toBe("alpha-beta");
    expect(expand("$(C) stays", vars)).toBe("$(C) stays");
  });
  it("treats $$ as an escaped $ and leaves lone $ and unterminated references alone", () => {
    expect(expand("$$(A)", vars)).toBe("$(A)");
    expect(expand("cost $5", vars)).toBe("cost $5");
    expect(expand("$(A", vars)).toBe("$(A");
    expect(expand("end$", vars)).toBe("end$");
  });
});
