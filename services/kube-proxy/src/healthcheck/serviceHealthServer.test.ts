import { describe, expect, it } from "vitest";
import { healthCheckResponse } from "./serviceHealthServer.js";

describe("healthCheckResponse", () => {
  it("answers 200 with kube-proxy's JSON when the node has local endpoints", () => {
    const r = healthCheckResponse({ namespace: "default", name: "web", localEndpoints: 2 }, true);
    expect(r.status).toBe(200);
    expect(r.headers["X-Load-Balancing-Endpoint-Weight"]).toBe("2");
    expect(JSON.parse(r.body)).toEqual({ service: { namespace: "default", name: "web" }, localEndpoints: 2, serviceProxyHealthy: true });
  });

  it("answers 503 with no local endpoint, or while the proxy itself is not healthy", () => {
    expect(healthCheckResponse({ namespace: "default", name: "web", localEndpoints: 0 }, true).status).toBe(503);
    expect(healthCheckResponse({ namespace: "default", name: "web", localEndpoints: 1 }, false).status).toBe(503);
  });
});
