#!/usr/bin/env node
// What the lab needs from the machine, found and (as root on a Debian-like system) installed:
// the Docker engine with a running daemon, docker-compose 1.29 or the compose v2 plugin, and
// what the offline image builds and the integration tests take from the host (busybox for the
// base images' shell, etcd and etcdctl). Used by `npm run lab` and by `.ci/run`, so the two can
// never drift apart. Plain ESM with no dependencies: it runs before `npm ci`.
//
//   node scripts/prerequisites.mjs          check, install what is missing (root + apt), start dockerd,
//                                           and install the npm packages if node_modules is missing
//   node scripts/prerequisites.mjs check    check only: exit 1 with the commands to run
//   node scripts/prerequisites.mjs test     as the first, and the kubectl the tests drive (see ensureKubectl)
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, chmodSync, constants, existsSync, openSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const MIN_NODE_MAJOR = 20;
export const MIN_DOCKER_ENGINE = [20, 10];
export const DOCKERD_LOG = "/var/log/kubelab-dockerd.log";
const COMPOSE_PLUGIN_DIRS = [
  "/usr/local/lib/docker/cli-plugins",
  "/usr/lib/docker/cli-plugins",
  "/usr/libexec/docker/cli-plugins",
  "/usr/local/libexec/docker/cli-plugins",
];

/** The executables on `PATH`, looked up without running anything (a second run costs nothing). */
export function which(bin, env = process.env) {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, bin);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function composePluginPresent(env) {
  const dirs = [
    env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, "cli-plugins") : undefined,
    env.HOME ? path.join(env.HOME, ".docker", "cli-plugins") : undefined,
    ...COMPOSE_PLUGIN_DIRS,
  ];
  return dirs.some((d) => d && existsSync(path.join(d, "docker-compose")));
}

/**
 * Each tool the lab takes from the host: what it is called in messages, how it is found, and the
 * Debian package that brings it.
 */
export const REQUIREMENTS = [
  { name: "docker", what: "the Docker command-line client", found: (env) => which("docker", env), apt: "docker.io" },
  { name: "dockerd", what: "the Docker engine (dockerd)", found: (env) => which("dockerd", env), apt: "docker.io" },
  {
    name: "docker-compose",
    what: "docker-compose 1.29 or the compose v2 plugin",
    found: (env) => which("docker-compose", env) ?? composePluginPresent(env),
    apt: "docker-compose",
  },
  { name: "busybox", what: "busybox (the offline base images' shell)", found: (env) => which("busybox", env), apt: "busybox-static" },
  { name: "etcd", what: "etcd (the offline etcd image; the integration tests)", found: (env) => which("etcd", env), apt: "etcd-server" },
  { name: "etcdctl", what: "etcdctl (the etcd image's healthcheck)", found: (env) => which("etcdctl", env), apt: "etcd-client" },
  { name: "iptables", what: "iptables (the offline chaos helper image)", found: (env) => which("iptables", env), apt: "iptables" },
  { name: "tc", what: "tc (the offline chaos helper image)", found: (env) => which("tc", env), apt: "iproute2" },
];

/** The requirements this PATH lacks. */
export function findMissing(env = process.env) {
  return REQUIREMENTS.filter((r) => !r.found(env));
}

/**
 * The Docker daemon as the client sees it: "running" (with its version), "down" (no answer),
 * "denied" (its socket refuses this user), or "absent" (no client to ask).
 */
export function daemonState(env = process.env) {
  if (!which("docker", env)) return { state: "absent" };
  const res = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { env, encoding: "utf8", timeout: 15_000 });
  const version = res.stdout?.trim();
  if (res.status === 0 && version) return { state: "running", version };
  if (/permission denied/i.test(res.stderr ?? "")) return { state: "denied" };
  return { state: "down" };
}

/** True when a dotted version is at least [major, minor]. */
export function versionAtLeast(version, [major, minor]) {
  const [a, b] = version.split(".").map((p) => Number.parseInt(p, 10));
  return a > major || (a === major && b >= minor);
}

/** What this machine offers for setting itself up. */
export function machine(env = process.env) {
  return {
    root: typeof process.getuid === "function" && process.getuid() === 0,
    apt: Boolean(which("apt-get", env)),
    systemd: existsSync("/run/systemd/system"),
    user: env.USER ?? env.LOGNAME ?? "$USER",
  };
}

const unique = (xs) => [...new Set(xs)];

/**
 * The decision: given what is missing, the daemon's state and the machine, either nothing to do,
 * what to install and start here (root, and apt-get for packages), or the exact commands a person
 * must run. Pure, so every case is tested without touching the machine.
 */
export function plan({ missing, daemon, machine: m, mayInstall = true, nodeVersion = process.versions.node }) {
  const problems = [];
  if (Number.parseInt(nodeVersion, 10) < MIN_NODE_MAJOR)
    problems.push(`Node.js ${nodeVersion} is too old (${MIN_NODE_MAJOR} or later is needed)`);
  if (daemon.state === "running" && !versionAtLeast(daemon.version, MIN_DOCKER_ENGINE)) {
    problems.push(`the Docker engine is ${daemon.version}; ${MIN_DOCKER_ENGINE.join(".")} or later is needed`);
  }
  if (problems.length) return { action: "ask", message: `${problems.join("; ")}.` };

  const packages = unique(missing.map((r) => r.apt));
  const needsDaemon = daemon.state !== "running";
  if (!packages.length && !needsDaemon) return { action: "none" };
  if (mayInstall && m.root && (m.apt || !packages.length) && daemon.state !== "denied")
    return { action: "install", packages, startDaemon: needsDaemon };

  const lacking = missing.map((r) => r.what);
  if (needsDaemon && !missing.some((r) => r.apt === "docker.io")) {
    lacking.push(daemon.state === "denied" ? `access to the Docker daemon's socket for ${m.user}` : "a running Docker daemon");
  }
  const sudo = m.root ? "" : "sudo ";
  const commands = [];
  if (packages.length) {
    if (m.apt) commands.push(`${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${packages.join(" ")}`);
    else
      commands.push(
        `install with your distribution's packages: ${missing.map((r) => r.what).join(", ")} (on Debian: ${packages.join(" ")})`,
      );
  }
  if (needsDaemon && daemon.state !== "denied") {
    commands.push(m.systemd ? `${sudo}systemctl start docker` : `${sudo}sh -c 'dockerd >${DOCKERD_LOG} 2>&1 &'`);
  }
  if (!m.root && (daemon.state === "denied" || packages.includes("docker.io"))) {
    commands.push(`${sudo}usermod -aG docker ${m.user}   # then log in again, so that docker works without sudo`);
  }
  return {
    action: "ask",
    message: [`this machine lacks ${lacking.join(", ")}. Run:`, ...commands.map((c) => `  ${c}`), "then run the same command again."].join(
      "\n",
    ),
  };
}

function aptInstall(packages, log) {
  log(`installing ${packages.join(" ")} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "--no-install-recommends", ...packages],
  ]) {
    const res = spawnSync("apt-get", args, { env, encoding: "utf8" });
    if (res.status !== 0)
      throw new Error(`apt-get ${args.join(" ")} failed: ${(res.stderr || res.stdout).trim().split("\n").slice(-5).join("\n")}`);
  }
}

async function startDaemon(m, log) {
  if (m.systemd) {
    log("starting the Docker daemon (systemctl start docker)");
    spawnSync("systemctl", ["start", "docker"], { stdio: "inherit" });
  } else {
    log(`starting the Docker daemon (dockerd; its log: ${DOCKERD_LOG})`);
    const out = openSync(DOCKERD_LOG, "a");
    spawn("dockerd", [], { detached: true, stdio: ["ignore", out, out] }).unref();
  }
  for (let i = 0; i < 60; i++) {
    const d = daemonState();
    if (d.state === "running") return d;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the Docker daemon did not start within 60 s${m.systemd ? " (journalctl -u docker)" : ` (see ${DOCKERD_LOG})`}`);
}

/** The workspace's npm packages, installed (npm ci) when a fresh clone has none. */
export function ensureDependencies(log) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  if (existsSync(path.join(root, "node_modules"))) return;
  log("installing the npm packages (npm ci)");
  const res = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (res.status !== 0) throw new Error(`npm ci failed (${res.status ?? res.signal})`);
}

/** The kubectl release the tests are written against, fetched when a machine has none. */
export const KUBECTL_VERSION = "v1.32.4";
const KUBECTL_DOWNLOAD_TIMEOUT_MS = 120_000;

/**
 * The real kubectl the kubectl tests drive: the one on PATH, or (as root) the release from
 * dl.k8s.io, checked against its published SHA-256. Optional: without it the kubectl tests say so
 * and are skipped, so an offline machine still runs the rest. Debian's own kubernetes-client
 * (1.20) is not used: it predates the WebSocket exec and port-forward protocols tested here.
 */
export async function ensureKubectl({ log, mayInstall }) {
  const found = which("kubectl");
  if (!found && mayInstall && machine().root) {
    const arch = { x64: "amd64", arm64: "arm64" }[process.arch];
    const url = `https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${arch}/kubectl`;
    try {
      log(`no kubectl on this machine: fetching ${url}`);
      const get = async (u) => {
        const res = await fetch(u, { signal: AbortSignal.timeout(KUBECTL_DOWNLOAD_TIMEOUT_MS) });
        if (!res.ok) throw new Error(`${u}: HTTP ${res.status}`);
        return Buffer.from(await res.arrayBuffer());
      };
      const [binary, sum] = await Promise.all([get(url), get(`${url}.sha256`)]);
      const actual = createHash("sha256").update(binary).digest("hex");
      if (actual !== sum.toString("utf8").trim().split(/\s+/)[0]) throw new Error(`${url}: SHA-256 ${actual} does not match its .sha256`);
      const target = "/usr/local/bin/kubectl";
      writeFileSync(`${target}.part`, binary);
      chmodSync(`${target}.part`, 0o755);
      renameSync(`${target}.part`, target);
    } catch (e) {
      log(`could not fetch kubectl (${e.cause?.message ?? e.message}): the kubectl tests will be skipped`);
    }
  }
  const kubectl = which("kubectl");
  if (!kubectl) {
    if (!mayInstall || !machine().root) log("no kubectl on this machine: the kubectl tests will be skipped");
    return;
  }
  const res = spawnSync(kubectl, ["version", "--client", "-o", "json"], { encoding: "utf8", timeout: 15_000 });
  let version = "an unknown version";
  try {
    version = JSON.parse(res.stdout).clientVersion.gitVersion;
  } catch {
    // an old or odd kubectl: its version is only reported
  }
  log(`the kubectl tests use ${kubectl} (${version}; written against ${KUBECTL_VERSION})`);
}

/** Checks, then installs or starts what is missing where it may; throws with the commands to run where it may not. */
export async function ensurePrerequisites({ log = (m) => process.stderr.write(`prerequisites: ${m}\n`), mayInstall = true } = {}) {
  const m = machine();
  const decision = plan({ missing: findMissing(), daemon: daemonState(), machine: m, mayInstall });
  if (decision.action === "none") return;
  if (decision.action === "ask") throw new Error(decision.message);
  if (decision.packages.length) aptInstall(decision.packages, log);
  const daemon = daemonState().state === "running" ? daemonState() : await startDaemon(m, log);
  const after = plan({ missing: findMissing(), daemon, machine: m, mayInstall: false });
  if (after.action !== "none") throw new Error(after.message);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const mayInstall = process.argv[2] !== "check";
  const log = (m) => process.stderr.write(`prerequisites: ${m}\n`);
  try {
    await ensurePrerequisites({ mayInstall, log });
    if (mayInstall) ensureDependencies(log);
    if (process.argv[2] === "test") await ensureKubectl({ log, mayInstall });
  } catch (e) {
    process.stderr.write(`prerequisites: ${e.message}\n`);
    process.exit(1);
  }
}
