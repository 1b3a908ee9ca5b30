// Answers every request with who answered (pod, node, addresses) and what was asked.
// GET /healthz is the probe endpoint; /fail-health makes it fail from then on and /heal makes it
// pass again (for probe and readiness demos).
import http from "node:http";
import os from "node:os";

const port = Number(process.env.PORT ?? 8080);
let healthy = true;
let served = 0;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/healthz") {
    res.writeHead(healthy ? 200 : 500, { "content-type": "text/plain" });
    res.end(healthy ? "ok\n" : "unhealthy\n");
    return;
  }
  if (url.pathname === "/fail-health") healthy = false;
  if (url.pathname === "/heal") healthy = true;
  served++;
  const body = {
    pod: process.env.POD_NAME ?? os.hostname(),
    namespace: process.env.POD_NAMESPACE ?? "",
    node: process.env.NODE_NAME ?? "",
    podIP: process.env.POD_IP ?? "",
    hostname: os.hostname(),
    served,
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
  };
  res.writeHead(200, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
});

server.listen(port, () => console.log(`echo listening on :${port}`));

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    console.log(`received ${sig}, closing`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
