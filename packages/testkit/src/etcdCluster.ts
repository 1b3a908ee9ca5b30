import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Etcd3 } from "etcd3";

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });

/**
 * `count` consecutive free ports on 127.0.0.1, below the kernel's ephemeral range (32768 up on
 * Linux) so that no outgoing connection takes one meanwhile: the first port.
 */
export async function freePortRange(count: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let ok = true;
    for (let p = base; ok && p < base + count; p++) ok = await bindable(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc?: ChildProcess;
}

/**
 * A real 3-member etcd cluster of local processes on 127.0.0.1, for integration tests.
 * Members can be stopped (SIGKILL, like a crash) and started again on their data.
 */
export class EtcdCluster {
  private members: Member[] = [];
  private baseDir = "";
  private token = `kubelab-test-${process.pid}-${Date.now()}`;

  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  /** Process ids of the running members (for benchmarks reading their CPU time). */
  get pids(): number[] {
    return this.members.flatMap((m) => (m.proc?.pid !== undefined && m.proc.exitCode === null ? [m.proc.pid] : []));
  }

  endpoint(i: number): string {
    return this.endpoints[i];
  }

  async start(size = 3): Promise<void> {
    const root = existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
    this.baseDir = mkdtempSync(path.join(root, "kubelab-etcd-"));
    for (let i = 0; i < size; i++) {
      this.members.push({
        name: `m${i}`,
        clientPort: await freePort(),
        peerPort: await freePort(),
        dataDir: path.join(this.baseDir, `m${i}`),
      });
    }
    for (let i = 0; i < size; i++) this.spawnMember(i);
    await this.waitHealthy();
  }

  private spawnMember(i: number): void {
    const m = this.members[i];
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(",");
    m.proc = spawn(
      "etcd",
      [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${this.token}`,
        "--initial-cluster-state=new",
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--experimental-watch-progress-notify-interval=1s",
        "--log-level=error",
        "--logger=zap",
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: "" } },
    );
    let stderr = "";
    m.proc.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    m.proc.on("exit", (code, signal) => {
      if (code && code !== 0 && !signal) process.stderr.write(`etcd ${m.name} exited ${code}: ${stderr}\n`);
    });
  }

  /** Waits until a write through every running member succeeds. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const [i, m] of this.members.entries()) {
      if (!m.proc) continue;
      const client = new Etcd3({ hosts: [this.endpoint(i)], dialTimeout: 1000 });
      try {
        for (;;) {
          try {
            await client
              .put("/kubelab-test/health")
              .value("ok")
              .options({ deadline: Date.now() + 1000 })
              .exec();
            break;
          } catch (e) {
            if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy: ${(e as Error).message}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        client.close();
      }
    }
  }

  /** Kills a member at once, as a crash would. */
  async stopMember(i: number): Promise<void> {
    const p = this.members[i].proc;
    if (!p) return;
    this.members[i].proc = undefined;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  }

  async startMember(i: number): Promise<void> {
    if (this.members[i].proc) return;
    this.spawnMember(i);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.stopMember(i);
    if (this.baseDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
