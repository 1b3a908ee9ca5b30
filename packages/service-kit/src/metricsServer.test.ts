import { afterEach, describe, expect, it } from "vitest";
import { type MetricsServer, startMetricsServer } from "./metricsServer.js";

describe("startMetricsServer", () => {
  let server: MetricsServer | undefined;
  afterEach(() => server?.close());

  it("serves a route at its exact path before the /metrics prefix, and /metrics still", async () => {
    server = await startMetricsServer(0, {
      host: "127.0.0.1",
      component: "test",
      routes: { "/metrics/resource": async () => ({ contentType: "text/plain; version=0.0.4", body: "scrape_error 0\n" }) },
    });
    const get = (path: string) => fetch(`http://127.0.0.1:${server!.port}${path}`);
    const resource = await get("/metrics/resource?x=1");
    expect(resource.headers.get("content-type")).toBe("text/plain; version=0.0.4");
    expect(await resource.text()).toBe("scrape_error 0\n");
    expect(await (await get("/metrics")).text()).toContain("process_cpu_user_seconds_total");
    expect(await (await get("/metrics/resourcex")).text()).toContain("process_cpu_user_seconds_total");
  });

  it("answers 500 with the message when a route fails", async () => {
    server = await startMetricsServer(0, {
      host: "127.0.0.1",
      component: "test",
      routes: { "/x": () => Promise.reject(new Error("boom")) },
    });
    const res = await fetch(`http://127.0.0.1:${server.port}/x`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("boom");
  });
});
