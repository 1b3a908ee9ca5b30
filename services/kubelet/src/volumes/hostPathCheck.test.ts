import { promises as fs } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkHostPathType } from "./hostPathCheck.js";

describe("checkHostPathType: Kubernetes' hostPath types, in the kubelet's words", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "host-path-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("creates a missing directory (with its parents) or file for the ...OrCreate types", async () => {
    await checkHostPathType(path.join(dir, "a/b"), "DirectoryOrCreate");
    expect((await fs.stat(path.join(dir, "a/b"))).isDirectory()).toBe(true);
    await checkHostPathType(path.join(dir, "f"), "FileOrCreate");
    expect((await fs.stat(path.join(dir, "f"))).isFile()).toBe(true);
    await expect(checkHostPathType(path.join(dir, "missing/f"), "FileOrCreate")).rejects.toThrow(/hostPath type check failed/);
  });

  it("requires what is there to be of the type", async () => {
    await fs.writeFile(path.join(dir, "f"), "x");
    await expect(checkHostPathType(path.join(dir, "f"), "DirectoryOrCreate")).rejects.toThrow(
      `hostPath type check failed: ${dir}/f is not a directory`,
    );
    await expect(checkHostPathType(path.join(dir, "nope"), "Directory")).rejects.toThrow(
      `hostPath type check failed: ${dir}/nope is not a directory`,
    );
    await expect(checkHostPathType(dir, "File")).rejects.toThrow(`hostPath type check failed: ${dir} is not a file`);
    await expect(checkHostPathType(dir, "Socket")).rejects.toThrow(`hostPath type check failed: ${dir} is not a socket file`);
    await expect(checkHostPathType(dir, "CharDevice")).rejects.toThrow("is not a character device");
    await checkHostPathType("/dev/null", "CharDevice");
    await checkHostPathType(dir, "Directory");
    await checkHostPathType(path.join(dir, "f"), "File");
    await checkHostPathType(path.join(dir, "anything"), "");
  });

  it("knows a socket", async () => {
    const sock = path.join(dir, "s.sock");
    const server = net.createServer().listen(sock);
    await new Promise((r) => server.once("listening", r));
    await checkHostPathType(sock, "Socket");
    server.close();
  });
});
