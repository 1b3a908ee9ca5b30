#!/usr/bin/env node
// npm run lab: install, build, build the images (offline if need be), compose up, wait healthy.
// Also: down (remove the lab and its volumes), images, status.
import { LAB_SERVICES, buildAll, composeRun, health, teardown, waitHealthy } from "./labTools.mjs";

const project = process.env.KUBELAB_PROJECT ?? "kubelab";
const port = process.env.KUBELAB_API_PORT ?? "6443";
const log = (m) => process.stderr.write(`lab: ${m}\n`);

const commands = {
  async up() {
    buildAll(log);
    log(`starting ${LAB_SERVICES.join(", ")} (compose project "${project}")`);
    composeRun(project, ["up", "-d"], { quiet: true });
    log("waiting for etcd and the API server to be healthy");
    await waitHealthy(project);
    process.stdout.write(
      [
        "",
        `kubelab is up: the API server listens on 127.0.0.1:${port} (gRPC).`,
        "",
        `  export KUBELAB_SERVER=127.0.0.1:${port}`,
        "  npx kubelab version",
        "  npx kubelab apply -f examples/quickstart.yaml",
        "  npx kubelab get nodes",
        "  npx kubelab get pods -A -w",
        "",
        `Chaos: docker stop ${project}-etcd-1-1 (or ${project}_etcd-1_1 with docker-compose 1.x) and the API keeps serving;`,
        `       docker stop ${project}-node-2-1 and its pods come back on the other nodes.`,
        "Stop the lab with: npm run lab:down",
        "",
      ].join("\n"),
    );
  },
  async down() {
    teardown(project);
    log("lab removed");
  },
  async images() {
    buildAll(log);
  },
  async status() {
    process.stdout.write(JSON.stringify(health(project), null, 2) + "\n");
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
