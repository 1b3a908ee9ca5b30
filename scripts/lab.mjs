#!/usr/bin/env node
// npm run lab: check the machine (installing what it lacks where it may), install, build, build
// the images (offline if need be), compose up, wait healthy.
// Also: stop and start (the lab's state kept), down (the lab and its volumes removed), images, status.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  API_PORT_VARS,
  DEFAULT_PROJECT,
  HTTP_PORT_VARS,
  kubeconfigYaml,
  root,
  LAB_SERVICES,
  buildAll,
  composeRun,
  containerOf,
  health,
  teardown,
  waitHealthy,
} from "./labTools.mjs";
import { ensurePrerequisites } from "./prerequisites.mjs";
import { spawnSync } from "node:child_process";

const project = process.env.KUBELAB_PROJECT ?? DEFAULT_PROJECT;
const ports = API_PORT_VARS.map((v, i) => process.env[v] ?? String(6443 + i));
const httpPorts = HTTP_PORT_VARS.map((v, i) => process.env[v] ?? String(6080 + i));
const kubeconfig = path.join(root, ".lab", "kubeconfig");

/** Writes the kubeconfig kubectl finds the lab with (.lab/ is ignored by git). */
function writeKubeconfig() {
  mkdirSync(path.dirname(kubeconfig), { recursive: true });
  writeFileSync(kubeconfig, kubeconfigYaml(httpPorts));
}
const log = (m) => process.stderr.write(`lab: ${m}\n`);

const commands = {
  async up() {
    await ensurePrerequisites({ log });
    buildAll(log);
    log(`starting ${LAB_SERVICES.join(", ")} (compose project "${project}")`);
    composeRun(project, ["up", "-d"], { quiet: true });
    log("waiting for every service to be healthy");
    await waitHealthy(project);
    writeKubeconfig();
    process.stdout.write(
      [
        "",
        `kubelab is up: its three API servers listen on 127.0.0.1:${ports.join(", ")} (gRPC) and ${httpPorts.join(", ")} (Kubernetes' HTTP API).`,
        "",
        `  export KUBELAB_SERVER=${ports.map((p) => `127.0.0.1:${p}`).join(",")}   # the CLI's default anyway`,
        "  npx kubelab version",
        "  npx kubelab apply -f examples/quickstart.yaml",
        "  npx kubelab get nodes",
        "  npx kubelab get pods -A -w",
        "",
        `  export KUBECONFIG=${kubeconfig}   # kubectl, and Kubernetes' other clients`,
        "  kubectl get nodes",
        "",
        "Break it: npx kubelab chaos status | kill leader:etcd | stop apiserver-1 | partition node-2 --from control-plane | heal",
        "          npx kubelab chaos run examples/chaos/node-power-loss.yaml   (a report of what the cluster did)",
        "Stop it with npm run lab:stop (its state kept; npm run lab:start brings it back),",
        "or remove it, with everything it holds, with npm run lab:down.",
        "",
      ].join("\n"),
    );
  },
  /** Stops every container; etcd's volumes, the objects and the pods' containers stay for start. */
  async stop() {
    log(`stopping the lab (compose project "${project}"); its state stays: npm run lab:start brings it back`);
    // Added nodes first (kubelab node add: not compose's services, so compose does not stop them).
    dockerOnAddedNodes("stop");
    composeRun(project, ["stop"], { quiet: true });
    log("lab stopped");
  },
  async start() {
    await ensurePrerequisites({ log });
    if (!containerOf(project, "apiserver-1")) throw new Error(`there is no lab "${project}" to start: npm run lab makes one`);
    log(`starting the lab (compose project "${project}")`);
    composeRun(project, ["start"], { quiet: true });
    dockerOnAddedNodes("start");
    log("waiting for every service to be healthy");
    await waitHealthy(project);
    writeKubeconfig();
    log(`lab started: the API servers listen on 127.0.0.1:${ports.join(", ")}; the nodes restart their pods`);
  },
  async down() {
    log(
      `removing the lab (compose project "${project}") with everything it holds: its containers, its pods, its networks and its volumes (etcd's data)`,
    );
    teardown(project);
    log("lab removed");
  },
  async images() {
    await ensurePrerequisites({ log });
    buildAll(log);
  },
  async status() {
    process.stdout.write(`${JSON.stringify(health(project), null, 2)}\n`);
  },
};

const cmd = process.argv[2] ?? "up";
if (!(cmd in commands)) {
  process.stderr.write(`usage: node scripts/lab.mjs <${Object.keys(commands).join("|")}>\n`);
  process.exit(2);
}
try {
  await commands[cmd]();
} catch (e) {
  log(e.message);
  process.exit(1);
}

/** `docker stop|start` of the nodes `kubelab node add` made in this lab (and their kube-proxies), nodes before proxies on start. */
function dockerOnAddedNodes(verb) {
  const ids = spawnSync(
    "docker",
    ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`, "--filter", "label=io.kubelab.added-node"],
    { encoding: "utf8" },
  )
    .stdout.trim()
    .split("\n")
    .filter(Boolean);
  if (!ids.length) return;
  const nodesFirst = spawnSync("docker", ["inspect", "--format", '{{.Id}} {{index .Config.Labels "io.kubelab.proxied-node"}}', ...ids], {
    encoding: "utf8",
  })
    .stdout.trim()
    .split("\n")
    .map((l) => l.split(" "))
    .sort((a, b) => Number(Boolean(a[1])) - Number(Boolean(b[1])))
    .map(([id]) => id);
  spawnSync("docker", [verb, ...(verb === "start" ? nodesFirst : nodesFirst.reverse())], { stdio: "ignore" });
}
