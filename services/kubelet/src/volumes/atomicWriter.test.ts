import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { timestampDirName, writeAtomically, type Payload } from "./atomicWriter.js";

const payload = (files: Record<string, string>, mode = 0o644): Payload =>
  new Map(Object.entries(files).map(([p, d]) => [p, { data: Buffer.from(d), mode }]));

describe("writeAtomically: Kubernetes' AtomicWriter layout", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "atomic-writer-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("writes files into a timestamped directory, ..data pointing at it, user-visible names through ..data", async () => {
    expect(await writeAtomically(dir, payload({ "app.conf": "a=1", "nested/x.txt": "x" }, 0o600), new Date("2026-01-02T03:04:05Z"))).toBe(
      true,
    );
    const entries = (await fs.readdir(dir)).sort();
    expect(entries).toHaveLength(4);
    const ts = entries.find((e) => e.startsWith("..2026_01_02_03_04_05."))!;
    expect(ts).toBeDefined();
    expect(await fs.readlink(path.join(dir, "..data"))).toBe(ts);
    expect(await fs.readlink(path.join(dir, "app.conf"))).toBe("..data/app.conf");
    expect(await fs.readlink(path.join(dir, "nested"))).toBe("..data/nested");
    expect(await fs.readFile(path.join(dir, "nested/x.txt"), "utf8")).toBe("x");
    expect((await fs.stat(path.join(dir, "app.conf"))).mode & 0o777).toBe(0o600);
  });

  it("swaps the whole payload: new contents, removed names gone, the old directory removed", async () => {
    await writeAtomically(dir, payload({ a: "1", b: "2" }));
    const first = await fs.readlink(path.join(dir, "..data"));
    expect(await writeAtomically(dir, payload({ a: "3", c: "4" }))).toBe(true);
    const second = await fs.readlink(path.join(dir, "..data"));
    expect(second).not.toBe(first);
    expect(await fs.readFile(path.join(dir, "a"), "utf8")).toBe("3");
    expect(await fs.readFile(path.join(dir, "c"), "utf8")).toBe("4");
    expect((await fs.readdir(dir)).sort()).toEqual(["..data", second, "a", "c"].sort());
  });

  it("leaves an unchanged payload alone", async () => {
    await writeAtomically(dir, payload({ a: "1" }));
    const first = await fs.readlink(path.join(dir, "..data"));
    expect(await writeAtomically(dir, payload({ a: "1" }))).toBe(false);
    expect(await fs.readlink(path.join(dir, "..data"))).toBe(first);
    expect(await writeAtomically(dir, payload({ a: "1" }, 0o400))).toBe(true);
  });

  it("refuses paths that leave the directory or use the writer's own names", async () => {
    await expect(writeAtomically(dir, payload({ "../x": "1" }))).rejects.toThrow(/invalid file path/);
    await expect(writeAtomically(dir, payload({ "..data": "1" }))).rejects.toThrow(/invalid file path/);
  });

  it("names directories as Kubernetes does", () => {
    expect(timestampDirName(new Date("2026-11-29T20:01:02Z"), "abc")).toBe("..2026_11_29_20_01_02.abc");
  });
});
