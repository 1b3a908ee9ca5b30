import { startApiServer, defaultApiServerConfig, type ApiServerConfig, type RunningApiServer } from "@kubelab/apiserver";
import { ApiClient } from "@kubelab/client";
import { createLogger } from "@kubelab/service-kit";

/** An API server on 127.0.0.1 with free ports, over the given etcd endpoints. */
export async function startTestApiServer(
  etcdServers: string[],
  overrides: Partial<ApiServerConfig> = {},
): Promise<{ server: RunningApiServer; client: ApiClient }> {
  const logs: string[] = [];
  const server = await startApiServer(
    defaultApiServerConfig({
      etcdServers,
      bindAddress: "127.0.0.1",
      port: 0,
      httpPort: 0,
      metricsPort: 0,
      etcdRequestTimeoutSeconds: 3,
      ...overrides,
    }),
    createLogger("apiserver", (l) => {
      logs.push(l);
      if (process.env.KUBELAB_TEST_LOGS) process.stderr.write(`${l}\n`);
    }),
  );
  const client = new ApiClient(`127.0.0.1:${server.port}`, { timeoutMs: 20_000 });
  return { server, client };
}
