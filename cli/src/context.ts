import { ApiClient, DEFAULT_SERVER } from "@kubelab/client";

export interface GlobalOptions {
  server?: string;
  namespace?: string;
}

/** The server from --server, else $KUBELAB_SERVER, else the lab's default on 127.0.0.1. */
export function serverAddress(opts: GlobalOptions): string {
  return opts.server || process.env.KUBELAB_SERVER || DEFAULT_SERVER;
}

export function connect(opts: GlobalOptions): ApiClient {
  return new ApiClient(serverAddress(opts), { timeoutMs: 10_000 });
}

export const namespaceOf = (opts: GlobalOptions) => opts.namespace || "default";
