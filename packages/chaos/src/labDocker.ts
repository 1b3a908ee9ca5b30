// The lab as `kubelab chaos` sees it through the Docker engine: its components (the containers of
// one compose project, by their service names), what can be done to them, and the helper that
// runs iptables and tc inside a component's network namespace.
import type { Readable } from "node:stream";
import Docker from "dockerode";
import { ChaosError } from "./errors.js";
import { healCommands, interfacesOf, isNetemMissing, type NetCommand } from "./netRules.js";

/** The helper image (iptables, tc); built with the lab's images. */
export const NETUTIL_IMAGE = "kubelab/netutil:dev";

export interface Component {
  /** The compose service: "etcd-1", "apiserver-2", "node-3", "kube-proxy-1", "dns"... */
  name: string;
  /** Its kind: the name without the copy's number ("etcd", "kube-proxy", "dns"). */
  kind: string;
  id: string;
  /** Docker's state: running, paused, exited, created, restarting. */
  state: string;
  /** "default"/"bridge"/a network name, "host", or "container:<id>" when it shares another's. */
  networkMode: string;
  /** Its address on each network it is attached to. */
  addresses: Record<string, string>;
}

export const kindOf = (service: string) => service.replace(/-\d+$/, "");

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Reads a demultiplexed exec stream to its end, each side capped at 64 KiB. */
function collect(docker: Docker, stream: Readable): Promise<{ stdout: string; stderr: string }> {
  const sink = () => {
    const chunks: Buffer[] = [];
    let size = 0;
    return {
      chunks,
      write: (b: Buffer) => {
        if (size < 65_536) chunks.push(b);
        size += b.length;
        return true;
      },
    };
  };
  const out = sink();
  const err = sink();
  return new Promise((resolve) => {
    docker.modem.demuxStream(stream, out as unknown as NodeJS.WritableStream, err as unknown as NodeJS.WritableStream);
    const done = () => resolve({ stdout: Buffer.concat(out.chunks).toString("utf8"), stderr: Buffer.concat(err.chunks).toString("utf8") });
    stream.on("end", done);
    stream.on("close", done);
    stream.on("error", done);
  });
}

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

export class LabDocker {
  constructor(
    readonly project: string,
    readonly docker: Docker = new Docker(),
  ) {}

  /** Every container of the lab's compose project (not the pods' containers), by service name. */
  async components(): Promise<Component[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${this.project}`] } });
    return list
      .filter((c) => c.Labels["com.docker.compose.oneoff"] !== "True" && c.Labels["com.docker.compose.service"])
      .map((c) => {
        const name = c.Labels["com.docker.compose.service"]!;
        const networks = (c.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress?: string }>;
        return {
          name,
          kind: kindOf(name),
          id: c.Id,
          state: c.State,
          networkMode: c.HostConfig?.NetworkMode ?? "",
          addresses: Object.fromEntries(Object.entries(networks).flatMap(([n, v]) => (v.IPAddress ? [[n, v.IPAddress]] : []))),
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One component by its short name; the error lists the lab's components. */
  async component(name: string): Promise<Component> {
    const all = await this.components();
    if (all.length === 0)
      throw new Error(`no lab is running under the compose project "${this.project}" (start one with npm run lab, or give --project)`);
    const found = all.find((c) => c.name === name);
    if (!found)
      throw new Error(`no component named "${name}" in the lab "${this.project}"; its components: ${all.map((c) => c.name).join(", ")}`);
    return found;
  }

  /** The container's hostname: what a leader election's holderIdentity starts with. */
  async hostname(c: Component): Promise<string> {
    return (await this.docker.getContainer(c.id).inspect()).Config.Hostname;
  }

  /** The host address where a container port of the component is published (127.0.0.1:port), if it is. */
  async publishedAddress(c: Component, containerPort: number): Promise<string | undefined> {
    const info = await this.docker.getContainer(c.id).inspect();
    const binding = info.NetworkSettings.Ports?.[`${containerPort}/tcp`]?.[0];
    if (!binding?.HostPort) return undefined;
    const host = !binding.HostIp || binding.HostIp === "0.0.0.0" ? "127.0.0.1" : binding.HostIp;
    return `${host}:${binding.HostPort}`;
  }

  /** Stops it gracefully (SIGTERM, then SIGKILL after `timeoutS`), as `docker stop` does. */
  async stop(c: Component, timeoutS = 10): Promise<void> {
    await this.ignore304(this.docker.getContainer(c.id).stop({ t: timeoutS }));
  }

  async start(c: Component): Promise<void> {
    // A paused container cannot be started; a start of a running one is a no-op (304).
    if (c.state === "paused") await this.unpause(c);
    await this.ignore304(this.docker.getContainer(c.id).start());
  }

  /** SIGKILL: the process dies at once, as on a power loss; Docker does not restart it. */
  async kill(c: Component): Promise<void> {
    try {
      await this.docker.getContainer(c.id).kill({ signal: "SIGKILL" });
    } catch (e) {
      if (statusOf(e) !== 409) throw e; // not running: already dead
    }
  }

  async pause(c: Component): Promise<void> {
    await this.docker.getContainer(c.id).pause();
  }

  async unpause(c: Component): Promise<void> {
    try {
      await this.docker.getContainer(c.id).unpause();
    } catch (e) {
      if (statusOf(e) !== 409 && statusOf(e) !== 500) throw e; // not paused
    }
  }

  async restart(c: Component, timeoutS = 10): Promise<void> {
    await this.docker.getContainer(c.id).restart({ t: timeoutS });
  }

  private async ignore304(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (statusOf(e) !== 304) throw e;
    }
  }

  /**
   * The network namespace a fault on this component acts in, or an error saying why there is
   * none of its own: the pod network plugin works in the host's (cutting it off would cut the
   * host), and a node's kube-proxy shares its node's.
   */
  async ownNetwork(c: Component): Promise<void> {
    if (c.networkMode === "host")
      throw new ChaosError(`${c.name} runs in the host's network namespace: a network fault there would cut off the host itself`);
    if (c.networkMode.startsWith("container:")) {
      const owner = c.networkMode.slice("container:".length);
      const all = await this.components();
      const o = all.find((x) => x.id.startsWith(owner) || x.name === owner);
      throw new ChaosError(
        `${c.name} shares ${o ? `${o.name}'s` : "another container's"} network namespace: a network fault on it is one on ${o?.name ?? "that container"} (aim at ${o?.name ?? "it"})`,
      );
    }
    if (c.state !== "running") throw new ChaosError(`${c.name} is ${c.state}: a network fault needs it running`);
  }

  /**
   * Runs `commands` in the component's network namespace, in a throwaway helper container that
   * joins it (`--network container:<id>`) with NET_ADMIN: the components' own images carry no
   * network tools and get no capability. A command that fails (and may not) stops the rest.
   */
  async inNetworkNamespace(c: Component, build: (interfaces: string[]) => NetCommand[]): Promise<void> {
    await this.ownNetwork(c);
    await this.withHelper(c, async (run) => {
      const interfaces = interfacesOf((await run(["cat", "/proc/net/dev"])).stdout);
      for (const cmd of build(interfaces)) {
        const r = await run(cmd.argv);
        if (r.code !== 0 && !cmd.mayFail) {
          if (cmd.argv[0] === "tc" && isNetemMissing(r.stderr))
            throw new ChaosError(
              "this kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM; try `modprobe sch_netem`): --delay and --jitter need it; --loss works without it",
            );
          throw new ChaosError(`${c.name}: \`${cmd.argv.join(" ")}\` failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
        }
      }
    });
  }

  /** Removes every network fault from the component (nothing to do when it is not running: its namespace went with it). */
  async healNetwork(c: Component): Promise<void> {
    if (c.state !== "running" || c.networkMode === "host" || c.networkMode.startsWith("container:")) return;
    await this.withHelper(c, async (run) => {
      const interfaces = interfacesOf((await run(["cat", "/proc/net/dev"])).stdout);
      for (const cmd of healCommands(interfaces)) await run(cmd.argv);
    });
  }

  private async withHelper(c: Component, fn: (run: (argv: string[]) => Promise<ExecResult>) => Promise<void>): Promise<void> {
    try {
      await this.docker.getImage(NETUTIL_IMAGE).inspect();
    } catch {
      throw new ChaosError(`the helper image ${NETUTIL_IMAGE} is missing: run npm run images (or npm run lab)`);
    }
    const helper = await this.docker.createContainer({
      Image: NETUTIL_IMAGE,
      // Bounded: if this process dies before removing it, the helper ends on its own.
      Cmd: ["sleep", "120"],
      Labels: { "io.kubelab.lab": "true", "io.kubelab.project": this.project, "io.kubelab.chaos": "netutil" },
      HostConfig: { NetworkMode: `container:${c.id}`, CapAdd: ["NET_ADMIN"], AutoRemove: true },
    });
    try {
      await helper.start();
      await fn(async (argv) => {
        const exec = await helper.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
        const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
        const { stdout, stderr } = await collect(this.docker, stream);
        return { code: (await exec.inspect()).ExitCode ?? -1, stdout, stderr };
      });
    } finally {
      await helper.remove({ force: true }).catch(() => undefined);
    }
  }
}
