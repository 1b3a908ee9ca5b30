// npm run bench -- <name>: runs one benchmark and records it in bench/RESULTS.md.
const benches: Record<string, () => Promise<{ default: () => Promise<void> }>> = {
  api: () => import("./api.js"),
  scheduler: () => import("./scheduler.js"),
  pods: () => import("./pods.js"),
  workloads: () => import("./workloads.js"),
  proxy: () => import("./proxy.js"),
  chaos: () => import("./chaos.js"),
  autoscaling: () => import("./autoscaling.js"),
  http: () => import("./http.js"),
  loadbalancer: () => import("./loadBalancer.js"),
  storage: () => import("./storage.js"),
};

const name = process.argv[2];
if (!name || !(name in benches)) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join("|")}>\n`);
  process.exit(2);
}
const { default: run } = await benches[name]();
await run();
process.exit(0);
