import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { freePort } from "./etcdCluster.js";

export interface ApiServerProcess {
  pid: number;
  port: number;
  /** Kubernetes' HTTP API. */
  httpPort: number;
  metricsPort: number;
  /** Resident memory of the process in bytes (from /proc). */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/** The API server as its own process, as it runs in the lab, on free ports of 127.0.0.1. */
export async function spawnApiServer(etcdServers: string[], extraArgs: string[] = []): Promise<ApiServerProcess> {
  const require = createRequire(import.meta.url);
  const main = path.join(path.dirname(require.resolve("@kubelab/apiserver")), "main.js");
  const port = await freePort();
  const metricsPort = await freePort();
  const httpPort = await freePort();
  const proc: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.KUBELAB_NODE_FLAGS ? process.env.KUBELAB_NODE_FLAGS.split(" ") : []),
      ...(process.env.KUBELAB_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KUBELAB_CPU_PROF}`] : []),
      main,
      `--etcd-servers=${etcdServers.join(",")}`,
      "--bind-address=127.0.0.1",
      `--port=${port}`,
      `--metrics-port=${metricsPort}`,
      `--http-port=${httpPort}`,
      ...extraArgs,
    ],
    { stdio: ["ignore", "ignore", process.env.KUBELAB_TEST_LOGS ? "inherit" : "ignore"] },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`API server exited with ${proc.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error("API server did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: proc.pid!,
    port,
    httpPort,
    metricsPort,
    rss: async () => {
      const { readFile } = await import("node:fs/promises");
      const status = await readFile(`/proc/${proc.pid}/status`, "utf8");
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}
