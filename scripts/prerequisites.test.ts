import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM run before anything is compiled, no type declarations
import * as prerequisites from "./prerequisites.mjs";

interface Requirement {
  name: string;
  what: string;
  apt: string;
}
interface Machine {
  root: boolean;
  apt: boolean;
  systemd: boolean;
  user: string;
}
type Daemon = { state: "running"; version: string } | { state: "down" | "denied" | "absent" };
type Decision = { action: "none" } | { action: "install"; packages: string[]; startDaemon: boolean } | { action: "ask"; message: string };
const p = prerequisites as unknown as {
  REQUIREMENTS: Requirement[];
  findMissing(env: NodeJS.ProcessEnv): Requirement[];
  plan(input: { missing: Requirement[]; daemon: Daemon; machine: Machine; mayInstall?: boolean; nodeVersion?: string }): Decision;
};

const script = path.resolve("scripts/prerequisites.mjs");
const tools = ["docker", "dockerd", "docker-compose", "busybox", "etcd", "etcdctl", "iptables", "tc"];
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * A PATH holding stand-ins for every tool but the ones left out: a `docker` that answers as an
 * Engine 20.10 daemon (or fails to reach one), the others (apt-get too, never run in check mode)
 * doing nothing.
 */
function fakePath(without: string[], daemon: "running" | "down" = "running"): string {
  const dir = mkdtempSync(path.join(tmpdir(), "kubelab-prereq-"));
  dirs.push(dir);
  for (const tool of [...tools.filter((t) => !without.includes(t)), "apt-get"]) {
    const body =
      tool === "docker"
        ? daemon === "running"
          ? "echo 20.10.24"
          : 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1'
        : "exit 0";
    writeFileSync(path.join(dir, tool), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(dir, tool), 0o755);
  }
  return dir;
}

/** The script's check mode (it never installs), with nothing on PATH but the stand-ins. */
function check(pathDir: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [script, "check"], { env: { PATH: pathDir, HOME: pathDir, USER: "alice" } }, (err, _stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
}

const machine = (over: Partial<Machine> = {}): Machine => ({ root: false, apt: true, systemd: true, user: "alice", ...over });
const running: Daemon = { state: "running", version: "20.10.24" };
const req = (name: string) => p.REQUIREMENTS.find((r) => r.name === name)!;

describe("the prerequisites check, with a PATH that lacks each tool in turn", () => {
  it("passes, doing nothing, when every tool is there and the daemon answers", async () => {
    expect(await check(fakePath([]))).toEqual({ code: 0, stderr: "" });
  });

  for (const tool of tools) {
    it(`names what is missing when ${tool} is not on the PATH, with the command that installs it`, async () => {
      const { code, stderr } = await check(fakePath([tool]));
      expect(code).toBe(1);
      const r = req(tool);
      expect(stderr).toContain(`this machine lacks ${r.what}`);
      expect(stderr).toMatch(new RegExp(`apt-get install -y --no-install-recommends .*\\b${r.apt}\\b`));
      // Only what is missing is named.
      for (const other of p.REQUIREMENTS.filter((o) => o.apt !== r.apt)) expect(stderr).not.toContain(other.what);
    });
  }

  it("names a Docker daemon that is installed but not running, with the command that starts it", async () => {
    const { code, stderr } = await check(fakePath([], "down"));
    expect(code).toBe(1);
    expect(stderr).toContain("this machine lacks a running Docker daemon");
    expect(stderr).not.toContain("apt-get");
  });

  it("finds the compose v2 plugin where Docker looks for it, in place of docker-compose", () => {
    const dir = fakePath(["docker-compose"]);
    const plugins = path.join(dir, ".docker", "cli-plugins");
    expect(p.findMissing({ PATH: dir, HOME: dir }).map((r) => r.name)).toEqual(["docker-compose"]);
    mkdirSync(plugins, { recursive: true });
    writeFileSync(path.join(plugins, "docker-compose"), "#!/bin/sh\n");
    chmodSync(path.join(plugins, "docker-compose"), 0o755);
    expect(p.findMissing({ PATH: dir, HOME: dir })).toEqual([]);
  });
});

describe("the prerequisites plan", () => {
  it("does nothing on a machine that has everything", () => {
    expect(p.plan({ missing: [], daemon: running, machine: machine() })).toEqual({ action: "none" });
  });

  it("installs the missing packages and starts the daemon as root with apt", () => {
    const missing = [req("dockerd"), req("docker"), req("busybox")];
    expect(p.plan({ missing, daemon: { state: "absent" }, machine: machine({ root: true }) })).toEqual({
      action: "install",
      packages: ["docker.io", "busybox-static"],
      startDaemon: true,
    });
  });

  it("only starts the daemon as root when nothing is missing but the daemon is down, even without apt", () => {
    expect(p.plan({ missing: [], daemon: { state: "down" }, machine: machine({ root: true, apt: false }) })).toEqual({
      action: "install",
      packages: [],
      startDaemon: true,
    });
  });

  it("asks a user without root for the exact commands: install, start, join the docker group", () => {
    const d = p.plan({ missing: [req("dockerd"), req("docker-compose")], daemon: { state: "absent" }, machine: machine() });
    expect(d).toEqual({
      action: "ask",
      message: [
        "this machine lacks the Docker engine (dockerd), docker-compose 1.29 or the compose v2 plugin. Run:",
        "  sudo apt-get update && sudo apt-get install -y --no-install-recommends docker.io docker-compose",
        "  sudo systemctl start docker",
        "  sudo usermod -aG docker alice   # then log in again, so that docker works without sudo",
        "then run the same command again.",
      ].join("\n"),
    });
  });

  it("tells a user the socket refuses to join the docker group", () => {
    const d = p.plan({ missing: [], daemon: { state: "denied" }, machine: machine() });
    expect(d.action).toBe("ask");
    expect((d as { message: string }).message).toContain("access to the Docker daemon's socket for alice");
    expect((d as { message: string }).message).toContain("sudo usermod -aG docker alice");
    expect((d as { message: string }).message).not.toContain("systemctl");
  });

  it("starts dockerd by hand, with its log, where there is no systemd", () => {
    const d = p.plan({ missing: [], daemon: { state: "down" }, machine: machine({ systemd: false }) });
    expect((d as { message: string }).message).toContain("sudo sh -c 'dockerd >/var/log/kubelab-dockerd.log 2>&1 &'");
  });

  it("names the tools, not apt's commands, where there is no apt", () => {
    const d = p.plan({ missing: [req("busybox")], daemon: running, machine: machine({ root: true, apt: false }) });
    expect((d as { message: string }).message).toContain(
      "install with your distribution's packages: busybox (the offline base images' shell) (on Debian: busybox-static)",
    );
  });

  it("never installs in check mode, even as root", () => {
    const d = p.plan({ missing: [req("etcd")], daemon: running, machine: machine({ root: true }), mayInstall: false });
    expect((d as { message: string }).message).toContain("  apt-get update && apt-get install -y --no-install-recommends etcd-server");
  });

  it("refuses a Docker engine older than 20.10 and a Node.js older than 20", () => {
    expect(p.plan({ missing: [], daemon: { state: "running", version: "19.03.15" }, machine: machine({ root: true }) })).toEqual({
      action: "ask",
      message: "the Docker engine is 19.03.15; 20.10 or later is needed.",
    });
    expect(p.plan({ missing: [], daemon: running, machine: machine(), nodeVersion: "18.19.0" })).toEqual({
      action: "ask",
      message: "Node.js 18.19.0 is too old (20 or later is needed).",
    });
  });
});
