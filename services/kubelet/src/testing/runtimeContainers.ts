import type { RuntimeContainer } from "../runtime/dockerRuntime.js";

// Test support for the kubelet's pod logic: containers as DockerRuntime reports them.

const running: RuntimeContainer = {
  id: "app-0",
  podUid: "u",
  podName: "p",
  podNamespace: "default",
  name: "app",
  type: "app",
  attempt: 0,
  specHash: "",
  gracePeriod: 30,
  state: "running",
  exitCode: 0,
  oomKilled: false,
  startedAt: "2026-01-01T00:00:00Z",
  finishedAt: "",
  createdAt: "2026-01-01T00:00:00Z",
  image: "i",
  imageId: "sha256:1",
  ip: "",
};

/**
 * The app container "app" of pod p (uid u, namespace default), attempt 0, running since
 * 2026-01-01T00:00:00Z, with these fields changed. Its id, unless given, is its name and attempt
 * (app-0, setup-1): each run of a container its own.
 */
export const rc = (o: Partial<RuntimeContainer>): RuntimeContainer => ({
  ...running,
  id: `${o.name ?? running.name}-${o.attempt ?? 0}`,
  ...o,
});
