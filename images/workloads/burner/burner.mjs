// Burns CPU_MILLICORES of one core in a duty cycle of 100 ms slices; MEMORY_MB allocates and
// touches that much memory and keeps it. HTTP on $PORT: GET / shows the settings,
// POST /load?millicores=N changes the load at run time, and GET /burn?ms=N spends N ms of CPU
// time on the request before it answers (as Kubernetes' HPA walkthrough's php-apache does), so
// the load follows the requests and spreads over the replicas behind a Service.
import http from "node:http";

let millicores = Number(process.argv[2] ?? process.env.CPU_MILLICORES ?? 500);
const memoryMb = Number(process.env.MEMORY_MB ?? 0);
const port = Number(process.env.PORT ?? 8080);
const SLICE_MS = 100;

const hoard = [];
if (memoryMb > 0) {
  // Allocate in steps so the growth shows in `docker stats` before an OOM kill.
  let allocated = 0;
  const grow = setInterval(() => {
    const step = Math.min(16, memoryMb - allocated);
    hoard.push(Buffer.alloc(step * 1024 * 1024, 1));
    allocated += step;
    console.log(`allocated ${allocated} MB`);
    if (allocated >= memoryMb) clearInterval(grow);
  }, 50);
}

/** Spends `ms` of this process's CPU time (not wall time: on a busy machine it takes longer, as real work does). */
function burnCpuTime(ms) {
  const start = process.cpuUsage();
  while (true) {
    for (let i = 0; i < 10_000; i++) Math.sqrt(Math.random());
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

function burn() {
  const busy = (Math.min(1000, Math.max(0, millicores)) / 1000) * SLICE_MS;
  const end = Date.now() + busy;
  while (Date.now() < end) Math.sqrt(Math.random());
  setTimeout(burn, SLICE_MS - busy);
}
burn();

http
  .createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/burn") {
      const ms = Number(url.searchParams.get("ms") ?? 50);
      if (!Number.isFinite(ms) || ms < 0 || ms > 10_000) {
        res.writeHead(400).end("ms: must be a number from 0 to 10000\n");
        return;
      }
      burnCpuTime(ms);
      res.writeHead(200, { "content-type": "text/plain" }).end(`burned ${ms} ms of CPU on ${process.env.HOSTNAME}\n`);
      return;
    }
    if (req.method === "POST" && url.pathname === "/load") {
      const n = Number(url.searchParams.get("millicores"));
      if (!Number.isFinite(n) || n < 0) {
        res.writeHead(400).end("millicores: must be a number >= 0\n");
        return;
      }
      millicores = n;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${JSON.stringify({ millicores, memoryMb, hostname: process.env.HOSTNAME })}\n`);
  })
  .listen(port, () => console.log(`burning ${millicores}m on :${port}`));

process.on("SIGTERM", () => process.exit(0));
