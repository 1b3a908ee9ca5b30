import { type Logger, type ResourceMetricsSnapshot, renderResourceMetrics } from "@kubelab/service-kit";
import type { DockerRuntime } from "../runtime/dockerRuntime.js";
import type { CgroupReader } from "./cgroupReader.js";
import { buildResourceSnapshot } from "./resourceMetrics.js";

/** A full Docker container id, which names its cgroup; a name must be looked up first. */
const FULL_ID = /^[0-9a-f]{64}$/;

/**
 * The kubelet's resource stats, what cAdvisor and the summary provider are to a real kubelet:
 * on each scrape, the node's containers from the runtime (a listing; only containers not seen
 * before cost an inspect) and their cgroups read from the host's cgroup filesystem.
 */
export class ResourceStatsCollector {
  private nodeContainerId: string | undefined;
  private failing = false;

  constructor(
    private readonly runtime: Pick<DockerRuntime, "list" | "identity" | "docker">,
    private readonly reader: Pick<CgroupReader, "read" | "root">,
    private readonly log: Logger,
  ) {}

  /**
   * One scrape's snapshot. A failure (Docker unreachable, the cgroup root unreadable or not the
   * host's) is a snapshot with scrapeError set, as the kubelet's collector answers; it is logged
   * when scrapes start failing, not on every scrape.
   */
  async snapshot(): Promise<ResourceMetricsSnapshot> {
    let snapshot: ResourceMetricsSnapshot;
    let error: unknown;
    try {
      const nodeContainerId = await this.resolveNodeContainer();
      const containers = (await this.runtime.list()).filter((c) => c.state === "running");
      const usage = await this.reader.read([...(nodeContainerId ? [nodeContainerId] : []), ...containers.map((c) => c.id)]);
      snapshot = buildResourceSnapshot({ containers, usage, nodeContainerId });
      if (snapshot.scrapeError)
        error = new Error(
          `the node container ${nodeContainerId} has no cgroup under ${this.reader.root}: is --host-cgroup-root the host's cgroup filesystem?`,
        );
    } catch (e) {
      snapshot = { pods: [], scrapeError: true };
      error = e;
    }
    if (error && !this.failing)
      this.log.warn("reading resource stats failed: /metrics/resource answers scrape_error 1 until it succeeds", {
        hostCgroupRoot: this.reader.root,
        error,
      });
    else if (!error && this.failing) this.log.info("resource metrics available again");
    this.failing = !!error;
    return snapshot;
  }

  /** The text of /metrics/resource. */
  async render(): Promise<string> {
    return renderResourceMetrics(await this.snapshot());
  }

  /** --node-container may name the container rather than give its id: looked up once. */
  private async resolveNodeContainer(): Promise<string | undefined> {
    const ref = this.runtime.identity.nodeContainer;
    if (!ref || FULL_ID.test(ref)) return ref;
    this.nodeContainerId ??= (await this.runtime.docker.getContainer(ref).inspect()).Id;
    return this.nodeContainerId;
  }
}
