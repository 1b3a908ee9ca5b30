import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

// The real kubectl the tests drive, as a user runs it: the one on PATH, or none (then the tests
// that need it say so and are skipped).

/** kubectl's path, or "" when this machine has none. */
export const kubectlPath = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim();

/** Says, once per test file, that its kubectl tests are skipped on this machine. */
export function noteMissingKubectl(file: string): void {
  if (!kubectlPath) process.stderr.write(`${file}: no kubectl on this machine: its kubectl tests are skipped\n`);
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A kubectl runner for one kubeconfig: each call ends with its output and exit code (killed after timeoutMs). */
export function kubectlWith(kubeconfig: () => string, defaultTimeoutMs = 30_000) {
  return (args: string[], input?: string, timeoutMs = defaultTimeoutMs) =>
    new Promise<KubectlResult>((resolve) => {
      const child = execFile(kubectlPath, ["--kubeconfig", kubeconfig(), ...args], { timeout: timeoutMs }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });
}

/** A kubeconfig for a plaintext API server at `server` (no credentials yet), in a new temporary directory. */
export function writePlainKubeconfig(server: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "kubelab-kubeconfig-")), "kubeconfig");
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster: {server: "${server}"}\ncontexts:\n- name: t\n  context: {cluster: t, user: t, namespace: default}\ncurrent-context: t\nusers:\n- name: t\n  user: {}\n`,
  );
  return file;
}
