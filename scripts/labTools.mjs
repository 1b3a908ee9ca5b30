// Shared by scripts/lab.mjs and the end-to-end tests: building the images, running compose,
// waiting for health. Plain ESM so it runs before anything is compiled.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ensureDependencies } from "./prerequisites.mjs";

const execFileAsync = promisify(execFile);

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/**
 * The components' image. KUBELAB_IMAGE_TAG gives a checkout its own tag, so labs built from two
 * working trees on one engine (two branches under test at once) do not overwrite each other's.
 */
export const IMAGE = `kubelab/kubelab:${process.env.KUBELAB_IMAGE_TAG || "dev"}`;
export const ETCD_IMAGE = "kubelab/etcd:dev";
/** The compose project of `npm run lab`, and of compose run by hand in the repository's root. */
export const DEFAULT_PROJECT = "kubelab";
const OFFICIAL_NODE = "node:20-bookworm-slim";
const OFFICIAL_ETCD = "gcr.io/etcd-development/etcd:v3.5.17";
const OFFICIAL_BUSYBOX = "busybox:1.36";
const OFFICIAL_DEBIAN = "debian:bookworm-slim";
/** The helper `kubelab chaos` runs in a component's network namespace (iptables, tc). */
export const NETUTIL_IMAGE = "kubelab/netutil:dev";
/** Small images the examples and tests run as pods, and the pod sandbox; built with the lab. */
export const WORKLOAD_IMAGES = {
  pause: "kubelab/pause:dev",
  echo: "kubelab/echo:dev",
  burner: "kubelab/burner:dev",
  shell: "kubelab/shell:dev",
};
const WORKLOAD_BASES = { pause: "busybox", echo: "node", burner: "node", shell: "busybox" };
export const LAB_SERVICES = [
  "etcd-0",
  "etcd-1",
  "etcd-2",
  "apiserver-1",
  "apiserver-2",
  "apiserver-3",
  "scheduler-1",
  "scheduler-2",
  "controller-manager-1",
  "controller-manager-2",
  "cloud-controller-manager-1",
  "cloud-controller-manager-2",
  "dns",
  "metrics-server",
  "pod-network",
  "node-1",
  "node-2",
  "node-3",
  "kube-proxy-1",
  "kube-proxy-2",
  "kube-proxy-3",
];

/**
 * What compose.yaml takes for a lab's cloud-controller-manager copies, which listen in the host's
 * network: their two metrics ports, and the lab's load-balancer range made from the first one. A
 * port no other running lab holds gives a /24 no other lab uses (127.A.B.0/24 with A = port / 256,
 * at least 4, so never the default 127.0.100.0/24 of the README's lab).
 */
export function cloudControllerManagerEnv(metricsPorts) {
  const [first, second] = metricsPorts;
  return {
    KUBELAB_CCM_METRICS_PORT: String(first),
    KUBELAB_CCM_METRICS_PORT_2: String(second),
    KUBELAB_LOAD_BALANCER_IP_RANGE: `127.${first >> 8}.${first & 255}.0/24`,
  };
}

/** The variables compose.yaml publishes the three API servers' ports by, on the host's 127.0.0.1. */
export const API_PORT_VARS = ["KUBELAB_API_PORT", "KUBELAB_API_PORT_2", "KUBELAB_API_PORT_3"];
/** The same for their HTTP API (Kubernetes' JSON API, for kubectl). */
export const HTTP_PORT_VARS = ["KUBELAB_HTTP_PORT", "KUBELAB_HTTP_PORT_2", "KUBELAB_HTTP_PORT_3"];

/**
 * A kubeconfig for kubectl and Kubernetes' other clients: context "kubelab" on the first API
 * server's HTTP port (kubectl takes one server; the others answer on the next ports and can be
 * chosen with --server).
 */
export function kubeconfigYaml(httpPorts) {
  const [first, ...others] = httpPorts;
  return [
    "# Written by npm run lab. kubectl talks to the first API server; the others answer at",
    ...others.map((p) => `#   http://127.0.0.1:${p}`),
    "# (kubectl --server=http://127.0.0.1:PORT). Plaintext and unauthenticated for now.",
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: kubelab",
    "  cluster:",
    `    server: http://127.0.0.1:${first}`,
    "contexts:",
    "- name: kubelab",
    "  context:",
    "    cluster: kubelab",
    "    user: kubelab",
    "    namespace: default",
    "current-context: kubelab",
    "users:",
    "- name: kubelab",
    "  user: {}",
    "",
  ].join("\n");
}

export function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, {
    cwd: root,
    stdio: opts.quiet ? "pipe" : "inherit",
    encoding: "utf8",
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs,
  });
  if (res.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${res.status ?? res.signal})${opts.quiet ? `: ${res.stderr || res.stdout}` : ""}`);
  }
  return res;
}

const imageExists = (tag) => spawnSync("docker", ["image", "inspect", tag], { stdio: "ignore" }).status === 0;

/**
 * An official base when it is here or can be pulled within a short wait; else the local one,
 * built from this machine's binaries. A local base made by an earlier run is taken as it is, so
 * an offline machine does not ask a registry again at every start.
 */
function baseImage(official, local, log) {
  if (imageExists(official)) return official;
  if (imageExists(local)) return local;
  if (process.env.KUBELAB_OFFLINE !== "1") {
    const pulled = spawnSync("docker", ["pull", "-q", official], { stdio: "ignore", timeout: 20_000 });
    if (pulled.status === 0) return official;
  }
  log(`no registry reachable for ${official}: building ${local} from this machine's binaries`);
  run("bash", ["images/build-local-bases.sh"], { quiet: true });
  return local;
}

/** Installs, builds the workspace (unless told it is built) and both images. */
export function buildAll(log = (m) => process.stderr.write(`${m}\n`), { workspace = true } = {}) {
  ensureDependencies(log);
  if (workspace) {
    log("building the workspace");
    run("npm", ["run", "build", "--silent"]);
  }
  const nodeBase = baseImage(OFFICIAL_NODE, "kubelab/node-base:local", log);
  const etcdBase = baseImage(OFFICIAL_ETCD, "kubelab/etcd-base:local", log);
  const busyboxBase = baseImage(OFFICIAL_BUSYBOX, "kubelab/busybox-base:local", log);
  const netutilBase = baseImage(OFFICIAL_DEBIAN, "kubelab/netutil-base:local", log);
  log(`building ${IMAGE}, ${ETCD_IMAGE}, ${NETUTIL_IMAGE} and the workload images`);
  run("docker", ["build", "-q", "-t", IMAGE, "--build-arg", `BASE_IMAGE=${nodeBase}`, "-f", "images/kubelab/Dockerfile", "."], {
    quiet: true,
  });
  run("docker", ["build", "-q", "-t", ETCD_IMAGE, "--build-arg", `ETCD_IMAGE=${etcdBase}`, "images/etcd"], { quiet: true });
  run("docker", ["build", "-q", "-t", NETUTIL_IMAGE, "--build-arg", `BASE_IMAGE=${netutilBase}`, "images/netutil"], { quiet: true });
  for (const [name, tag] of Object.entries(WORKLOAD_IMAGES)) {
    const base = WORKLOAD_BASES[name] === "node" ? nodeBase : busyboxBase;
    run("docker", ["build", "-q", "-t", tag, "--build-arg", `BASE_IMAGE=${base}`, `images/workloads/${name}`], { quiet: true });
  }
  writeComposeEnv();
}

/**
 * What compose.yaml takes from the environment to run the lab: its images (compose.yaml has no
 * default for them, so that compose run before the images exist says what to run) and, for
 * compose run by hand in the root, the project name `npm run lab` uses.
 */
const COMPOSE_ENV = { KUBELAB_IMAGE: IMAGE, KUBELAB_ETCD_IMAGE: ETCD_IMAGE };

/**
 * Writes .env beside compose.yaml once the images exist, so `docker-compose up -d` and the rest
 * work there with no other step; rewritten only when its content would change.
 */
function writeComposeEnv() {
  const file = path.join(root, ".env");
  const text = [
    "# Written by `npm run lab` / `npm run images` once the lab's images are built, so that compose run",
    "# by hand here uses them, under the project name `npm run lab` uses. Variables set in the shell win.",
    `COMPOSE_PROJECT_NAME=${DEFAULT_PROJECT}`,
    ...Object.entries(COMPOSE_ENV).map(([k, v]) => `${k}=${v}`),
    "",
  ].join("\n");
  if (!existsSync(file) || readFileSync(file, "utf8") !== text) writeFileSync(file, text);
}

let composeCmd;
/** `docker compose` where the plugin exists, else the distribution's docker-compose. */
export function compose() {
  if (!composeCmd) {
    composeCmd = spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0 ? ["docker", "compose"] : ["docker-compose"];
  }
  return composeCmd;
}

/** The container id of a compose service. */
export function containerOf(project, service) {
  return execFileSync(
    "docker",
    ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`, "--filter", `label=com.docker.compose.service=${service}`],
    { encoding: "utf8" },
  )
    .trim()
    .split("\n")[0];
}

export function composeRun(project, args, opts = {}) {
  const [cmd, ...pre] = compose();
  return run(cmd, [...pre, "-p", project, "-f", path.join(root, "compose.yaml"), ...args], {
    ...opts,
    env: { ...COMPOSE_ENV, ...process.env, ...opts.env },
  });
}

/** Each of the project's containers: its compose service, id, and health as Docker last saw it. */
function containers(project) {
  const out = execFileSync(
    "docker",
    [
      "ps",
      "-a",
      "--filter",
      `label=com.docker.compose.project=${project}`,
      "--format",
      '{{.Label "com.docker.compose.service"}} {{.ID}} {{.State}} {{.Status}}',
    ],
    { encoding: "utf8" },
  );
  return out
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [service, id, state, ...status] = line.split(" ");
      const s = status.join(" ");
      return {
        service,
        id,
        health: state !== "running" ? state : s.includes("(healthy)") ? "healthy" : s.includes("unhealthy") ? "unhealthy" : "starting",
      };
    });
}

/** Health of each of the project's containers, by compose service name. */
export function health(project) {
  return Object.fromEntries(containers(project).map((c) => [c.service, c.health]));
}

/** Runs a container's own healthcheck command once (an exec, as Docker does); true if it passes. */
async function probe(id) {
  try {
    const { stdout } = await execFileAsync("docker", ["inspect", "--format", "{{json .Config.Healthcheck.Test}}", id]);
    const test = JSON.parse(stdout);
    if (!Array.isArray(test) || test.length < 2) return false;
    const cmd = test[0] === "CMD-SHELL" ? ["sh", "-c", test[1]] : test.slice(1);
    await execFileAsync("docker", ["exec", id, ...cmd], { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until every service passes its healthcheck. Docker runs each check only every 60 s (an
 * exec costs dockerd, containerd and runc about 70 ms of CPU here, and services checked every
 * few seconds took a tenth of two cores from an idle lab), and runs the first one only an
 * interval after the start (Engine 20.10 has no start_interval); so while the lab starts, each
 * service's own check command is run here, every second, until it passes once.
 */
export async function waitHealthy(project, services = LAB_SERVICES, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  const passed = new Set();
  for (;;) {
    const now = containers(project);
    await Promise.all(
      now.map(async (c) => {
        if (!services.includes(c.service) || passed.has(c.service)) return;
        if (c.health === "healthy" || ((c.health === "starting" || c.health === "unhealthy") && (await probe(c.id)))) passed.add(c.service);
      }),
    );
    if (services.every((s) => passed.has(s))) return;
    if (Date.now() > deadline) {
      const h = Object.fromEntries(now.map((c) => [c.service, passed.has(c.service) ? "healthy" : c.health]));
      throw new Error(`lab not healthy after ${timeoutMs / 1000}s: ${JSON.stringify(h)}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Removes everything a compose project made, and anything left with its label. The kubelets go
 * first (their pods die with them), then the pods' containers and volumes, which compose does not
 * know of and which would keep the pod network from being removed.
 */
export function teardown(project) {
  composeRun(project, ["kill"], { quiet: true, allowFail: true });
  // Removes what is labelled with the project; says what Docker refused to remove.
  const sweep = (listArgs, rmArgs, label = "com.docker.compose.project") => {
    const ids =
      spawnSync("docker", [...listArgs, "--filter", `label=${label}=${project}`], { encoding: "utf8" })
        .stdout?.trim()
        .split("\n")
        .filter(Boolean) ?? [];
    if (!ids.length) return "";
    return spawnSync("docker", [...rmArgs, ...ids], { encoding: "utf8" }).stderr?.trim() ?? "";
  };
  sweep(["ps", "-aq"], ["rm", "-f", "-v"], "io.kubelab.project");
  sweep(["volume", "ls", "-q"], ["volume", "rm", "-f"], "io.kubelab.project");
  composeRun(project, ["down", "-v", "--remove-orphans", "-t", "5"], { quiet: true, allowFail: true });
  sweep(["ps", "-aq"], ["rm", "-f", "-v"]);
  // Said, not thrown: a teardown must finish. Docker 20.10's libnetwork can keep a stale endpoint
  // count ("has active endpoints" with nothing attached; moby/moby#42119), which only a daemon
  // restart clears; a network left so holds one of Docker's address pools until then.
  const networksLeft = sweep(["network", "ls", "-q"], ["network", "rm"]);
  if (networksLeft) process.stderr.write(`kubelab: not every network of ${project} could be removed: ${networksLeft}\n`);
  sweep(["volume", "ls", "-q"], ["volume", "rm", "-f"]);
}
