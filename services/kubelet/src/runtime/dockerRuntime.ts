import { type Duplex, type Readable, Transform, type TransformCallback, type Writable } from "node:stream";
import type Docker from "dockerode";
import { POD_NETWORK_LABEL } from "@kubelab/api";
import type { PodNetworkPlugin } from "./podNetworkPlugin.js";
import { LABEL, SANDBOX_NAME, dockerName, type ContainerType } from "./labels.js";

/** What the kubelet needs to know of one of its containers. */
export interface RuntimeContainer {
  id: string;
  podUid: string;
  podName: string;
  podNamespace: string;
  name: string;
  type: ContainerType;
  attempt: number;
  specHash: string;
  gracePeriod: number;
  /** Docker's state: created, running, exited, dead, paused, restarting, removing. */
  state: string;
  exitCode: number;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  createdAt: string;
  image: string;
  imageId: string;
  /** The sandbox's address on the pod network. */
  ip: string;
}

export interface PodRef {
  name: string;
  namespace: string;
  uid: string;
}

/** Where this kubelet's containers go: the pod network, and the PID namespace they die with. */
export interface RuntimeIdentity {
  nodeName: string;
  podNetwork: string;
  /** Container whose PID namespace every pod container joins, so they stop when it stops. */
  nodeContainer?: string;
  /**
   * The lab this node belongs to (its compose project). Node names repeat from lab to lab
   * (every lab has a node-1), so one Docker engine running two labs, such as the README's lab
   * and the tests' own, tells their containers apart by this, never by the node name alone.
   */
  project: string;
  /**
   * Where pods send the Service range: this node's kube-proxy, which holds every ClusterIP of
   * the range as a local address (the route is node-local, so one node's kube-proxy only ever
   * serves its own node's pods).
   */
  serviceRoute?: { cidr: string; via: string };
}

export interface ContainerSpecForRuntime {
  name: string;
  type: Exclude<ContainerType, "sandbox">;
  attempt: number;
  specHash: string;
  gracePeriod: number;
  image: string;
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workingDir?: string;
  /** CPU limit in nano-CPUs (0: none). */
  nanoCpus: number;
  /** cgroup cpu.shares from the cpu request. */
  cpuShares: number;
  /** Memory limit in bytes (0: none). */
  memoryBytes: number;
  binds: string[];
  tty: boolean;
  stdin: boolean;
}

/** Which of a process's outputs a chunk came from; with a tty, everything is stdout. */
export type OutputStreamName = "stdout" | "stderr";

export interface OutputChunk {
  stream: OutputStreamName;
  data: Buffer;
}

export interface TerminalSizeForRuntime {
  width: number;
  height: number;
}

/**
 * A process's standard streams over Docker's hijacked connection, for exec and attach (what a
 * CRI runtime's streaming server serves a real kubelet).
 */
export interface ProcessStreams {
  readonly tty: boolean;
  /**
   * OutputChunk objects, in the order Docker sent them; ends when the process's output does (or
   * on close). Pausing it pauses reading Docker's connection, so a slow reader holds no more than
   * the stream buffers.
   */
  readonly output: Readable;
  /**
   * The process's stdin (when asked for); `write` returning false means wait for "drain".
   * `end()` half-closes the connection: EOF for an exec without a tty; for a tty, or an attach
   * whose container is not StdinOnce, Docker takes it as a detach and ends the output.
   */
  readonly stdin: Writable;
  resize(size: TerminalSizeForRuntime): Promise<void>;
  /**
   * How the process ended, asked once its output ended: its exit code, or undefined if it still
   * runs after `graceMs` (an attach that detached, a connection Docker dropped).
   */
  exitCode(graceMs: number): Promise<number | undefined>;
  /**
   * Drops the connection and any output not yet read: an attached container is detached from;
   * an exec's command runs on (Docker cannot kill one).
   */
  close(): void;
}

/**
 * Docker's multiplexed stream (no tty) as OutputChunks: frames of an 8-byte header (the stream:
 * 0 stdin, 1 stdout, 2 stderr, 3 Docker's own error; then the payload length, big-endian) and
 * the payload. A payload is passed on piece by piece as it arrives, so a large frame is never
 * held whole; the transform's buffers are the only ones between Docker and the reader.
 */
export class DockerStreamDemuxer extends Transform {
  private header = Buffer.alloc(0);
  private stream: OutputStreamName = "stdout";
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(8 - this.header.length, chunk.length - i);
        this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
        i += take;
        if (this.header.length < 8) break;
        this.stream = this.header[0] === 2 || this.header[0] === 3 ? "stderr" : "stdout";
        this.remaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - i);
      this.push({ stream: this.stream, data: chunk.subarray(i, i + n) } satisfies OutputChunk);
      this.remaining -= n;
      i += n;
    }
    done();
  }
}

/** A tty's raw stream as OutputChunks: all of it stdout. */
class TtyOutput extends Transform {
  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    done(null, { stream: "stdout", data: chunk } satisfies OutputChunk);
  }
}

/**
 * The output side of a hijacked connection: Docker's bytes, demultiplexed unless a tty's. A
 * connection that closes without its end (reset, or closed by us) still ends the output, so
 * the reader always hears the end.
 */
function outputOf(socket: Duplex, tty: boolean): Readable {
  const output = tty ? new TtyOutput() : new DockerStreamDemuxer();
  socket.pipe(output);
  socket.on("error", () => undefined);
  socket.on("close", () => {
    if (!output.writableEnded && !output.destroyed) output.end();
  });
  output.on("close", () => socket.destroy());
  return output;
}

const isoOrEmpty = (t: string | undefined) => (!t || t.startsWith("0001-") ? "" : t.replace(/\.\d+Z$/, "Z"));

/** The Docker Engine, as the kubelet's container runtime (what CRI is to a real kubelet). */
export class DockerRuntime {
  /**
   * Inspections, kept while Docker's listing shows the container in the same state: a stopped
   * container never changes, and a running one only by stopping, which the listing shows. Every
   * sync lists; only new or changed containers cost an inspect.
   */
  private readonly inspected = new Map<string, RuntimeContainer>();
  /** Sandboxes the plugin wired for this process. */
  private readonly wired = new Set<string>();

  constructor(
    readonly docker: Docker,
    readonly identity: RuntimeIdentity,
    /**
     * When set, sandboxes are created with no network and wired by the plugin (as Kubernetes'
     * dockershim did with CNI); otherwise Docker attaches them to the pod network itself.
     */
    private readonly podNetworkPlugin?: PodNetworkPlugin,
  ) {}

  private baseLabels(pod: PodRef): Record<string, string> {
    const labels: Record<string, string> = {
      [LABEL.lab]: "true",
      [LABEL.node]: this.identity.nodeName,
      [LABEL.podName]: pod.name,
      [LABEL.podNamespace]: pod.namespace,
      [LABEL.podUid]: pod.uid,
    };
    labels[LABEL.project] = this.identity.project;
    return labels;
  }

  /** The label filter that matches this node's containers and no other lab's. */
  private ownLabels(): string[] {
    return [`${LABEL.node}=${this.identity.nodeName}`, `${LABEL.project}=${this.identity.project}`];
  }

  /** Every container of this node's pods (of one pod, given its uid), inspected. */
  async list(podUid?: string): Promise<RuntimeContainer[]> {
    const filters = this.ownLabels();
    if (podUid) filters.push(`${LABEL.podUid}=${podUid}`);
    const summaries = await this.docker.listContainers({ all: true, filters: { label: filters } });
    const out: RuntimeContainer[] = [];
    await Promise.all(
      summaries.map(async (s) => {
        const cached = this.inspected.get(s.Id);
        if (cached && cached.state === s.State) return out.push(cached);
        try {
          const c = await this.inspect(s.Id);
          if (c) out.push(c);
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode !== 404) throw e;
        }
      }),
    );
    const live = new Set(summaries.map((s) => s.Id));
    if (!podUid) for (const id of this.inspected.keys()) if (!live.has(id)) this.inspected.delete(id);
    return out;
  }

  async inspect(id: string): Promise<RuntimeContainer | undefined> {
    const info = await this.docker.getContainer(id).inspect();
    const l = info.Config.Labels ?? {};
    if (!l[LABEL.podUid]) return undefined;
    const nets = info.NetworkSettings?.Networks ?? {};
    const c: RuntimeContainer = {
      id: info.Id,
      podUid: l[LABEL.podUid]!,
      podName: l[LABEL.podName] ?? "",
      podNamespace: l[LABEL.podNamespace] ?? "",
      name: l[LABEL.containerName] ?? "",
      type: (l[LABEL.containerType] ?? "app") as ContainerType,
      attempt: Number(l[LABEL.attempt] ?? 0),
      specHash: l[LABEL.specHash] ?? "",
      gracePeriod: Number(l[LABEL.gracePeriod] ?? 30),
      state: info.State.Status,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      startedAt: isoOrEmpty(info.State.StartedAt),
      finishedAt: isoOrEmpty(info.State.FinishedAt),
      createdAt: isoOrEmpty(info.Created),
      image: info.Config.Image,
      imageId: info.Image,
      // A plugin-wired sandbox carries its address in a label; Docker knows it for its own networks.
      ip: nets[this.identity.podNetwork]?.IPAddress || (info.State.Running ? (l[POD_NETWORK_LABEL.ip] ?? "") : ""),
    };
    // "created" is passing (start follows) and has no start time yet: not worth keeping.
    if (c.state === "exited" || c.state === "dead" || c.state === "running") this.inspected.set(c.id, c);
    return c;
  }

  /** The pod's sandbox: holds its network namespace (its IP is the pod IP), shared by its containers. */
  /** Creates the sandbox; the caller starts it (so its start overlaps creating the containers). */
  async createSandbox(
    pod: PodRef & { hostname: string; gracePeriod: number },
    image: string,
    attempt: number,
    dns?: { servers: string[]; searches: string[]; options: string[] },
    binds: string[] = [],
  ): Promise<string> {
    const plugin = this.podNetworkPlugin;
    const address = plugin ? await plugin.allocate(`${pod.namespace}/${pod.name}`) : undefined;
    const hostname = pod.hostname.slice(0, 63);
    const route = this.identity.serviceRoute;
    const c = await this.docker.createContainer({
      name: dockerName(SANDBOX_NAME, pod, attempt),
      Image: image,
      Hostname: hostname,
      // Docker's own networking: the pause image adds this route as its first act, before it
      // sleeps, with no exec and no round trip on the way to starting the pod. The plugin adds
      // it when it wires the sandbox.
      Env: route && !plugin ? [`KUBELAB_SERVICE_ROUTE=${route.cidr} via ${route.via}`] : undefined,
      Labels: {
        ...this.baseLabels(pod),
        [LABEL.containerName]: SANDBOX_NAME,
        [LABEL.containerType]: "sandbox",
        [LABEL.attempt]: String(attempt),
        [LABEL.gracePeriod]: String(pod.gracePeriod),
        ...(address ? { [POD_NETWORK_LABEL.ip]: address.ip, [POD_NETWORK_LABEL.network]: address.networkId } : {}),
      },
      HostConfig: {
        NetworkMode: address ? "none" : this.identity.podNetwork,
        // The pod's IPC namespace (System V IPC, POSIX shared memory), joined by its containers as
        // in Kubernetes; Docker lets others join only a "shareable" one.
        IpcMode: "shareable",
        PidMode: this.identity.nodeContainer ? `container:${this.identity.nodeContainer}` : undefined,
        // The pod's resolv.conf, shared by its containers (they join this network namespace).
        Dns: dns?.servers.length ? dns.servers : undefined,
        DnsSearch: dns?.searches.length ? dns.searches : undefined,
        DnsOptions: dns?.options.length ? dns.options : undefined,
        // The kubelet's /etc/hosts entry for the pod's own name (Docker writes it for its own networks).
        ExtraHosts: address ? [`${hostname}:${address.ip}`] : undefined,
        // Kubernetes' pause container is tiny; the limit keeps a runaway one from hurting the node.
        Memory: 16 * 1024 * 1024,
        MemorySwap: 16 * 1024 * 1024,
        // For the route the sandbox adds as it starts: it alone holds the capability, not the pod's containers.
        CapAdd: route && !plugin ? ["NET_ADMIN"] : undefined,
        // The pod's memory-backed volumes: a tmpfs volume is mounted while a container uses it,
        // so the sandbox holds it for the pod's life, across its containers' restarts.
        Binds: binds.length ? binds : undefined,
      },
    });
    return c.id;
  }

  /** Starts a sandbox and, with the plugin, wires it: its address, when the plugin gave it. */
  async startSandbox(id: string): Promise<string | undefined> {
    await this.start(id);
    if (!this.podNetworkPlugin) return undefined;
    try {
      return await this.wire(id);
    } catch (e) {
      // A sandbox without its network is no sandbox: the next sync makes another.
      await this.remove(id);
      throw e;
    }
  }

  /**
   * Makes sure a running sandbox found on a sync is wired: after a kubelet restart, one started
   * by the previous process may have been left between its start and its wiring. Wiring is
   * idempotent in the plugin, so each sandbox costs one call per kubelet process.
   */
  async ensureWired(id: string): Promise<void> {
    if (this.podNetworkPlugin && !this.wired.has(id)) await this.wire(id);
  }

  private async wire(id: string): Promise<string> {
    const route = this.identity.serviceRoute;
    const ip = await this.podNetworkPlugin!.attach(id, route ? [{ destination: route.cidr, via: route.via }] : []);
    this.wired.add(id);
    return ip;
  }

  async createContainer(pod: PodRef, sandboxId: string, spec: ContainerSpecForRuntime): Promise<string> {
    const c = await this.docker.createContainer({
      name: dockerName(spec.name, pod, spec.attempt),
      Image: spec.image,
      Entrypoint: spec.entrypoint,
      Cmd: spec.cmd,
      Env: spec.env,
      WorkingDir: spec.workingDir,
      Tty: spec.tty,
      OpenStdin: spec.stdin,
      Labels: {
        ...this.baseLabels(pod),
        [LABEL.containerName]: spec.name,
        [LABEL.containerType]: spec.type,
        [LABEL.attempt]: String(spec.attempt),
        [LABEL.specHash]: spec.specHash,
        [LABEL.gracePeriod]: String(spec.gracePeriod),
      },
      HostConfig: {
        NetworkMode: `container:${sandboxId}`,
        IpcMode: `container:${sandboxId}`,
        PidMode: this.identity.nodeContainer ? `container:${this.identity.nodeContainer}` : undefined,
        NanoCpus: spec.nanoCpus || undefined,
        CpuShares: spec.cpuShares || undefined,
        Memory: spec.memoryBytes || undefined,
        // Kubernetes runs without swap: the memory limit is the whole budget, so a hog is OOM-killed.
        MemorySwap: spec.memoryBytes || undefined,
        Binds: spec.binds.length ? spec.binds : undefined,
      },
    });
    return c.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }

  /**
   * A Docker volume for one of a pod's volumes (an emptyDir), labelled as the pod's containers
   * are; with `tmpfs`, a memory-backed one of at most `sizeBytes` (0: the kernel's default, half
   * of RAM). Idempotent. Returns where the host has it (its Mountpoint).
   */
  async createPodVolume(pod: PodRef, volumeName: string, tmpfs?: { sizeBytes: number }): Promise<string> {
    await this.docker.createVolume({
      Name: volumeName,
      Labels: this.baseLabels(pod),
      // The local driver's tmpfs; its size goes in the mount options ("size" alone asks for a disk quota).
      DriverOpts: tmpfs ? { type: "tmpfs", device: "tmpfs", ...(tmpfs.sizeBytes ? { o: `size=${tmpfs.sizeBytes}` } : {}) } : undefined,
    });
    return (await this.docker.getVolume(volumeName).inspect()).Mountpoint;
  }

  /** Removes every volume of a pod uid (its object is gone or no longer this node's). */
  async removePodVolumes(podUid: string): Promise<void> {
    const vols = await this.docker.listVolumes({ filters: { label: [`${LABEL.podUid}=${podUid}`] } });
    for (const v of vols.Volumes ?? [])
      await this.docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (docker stop's contract). */
  async stop(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(graceSeconds)) });
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) throw e;
    }
  }

  async remove(id: string): Promise<void> {
    this.inspected.delete(id);
    this.wired.delete(id);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw e;
    }
  }

  /** Runs a command in a running container; the output is capped, like the kubelet's probe output. */
  async exec(id: string, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    const exec = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
    const chunks: Buffer[] = [];
    let size = 0;
    const done = new Promise<void>((resolve) => {
      const out = {
        write: (b: Buffer) => {
          if (size < 10_240) {
            chunks.push(b);
            size += b.length;
          }
          return true;
        },
      };
      this.docker.modem.demuxStream(stream, out as unknown as NodeJS.WritableStream, out as unknown as NodeJS.WritableStream);
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      stream.destroy();
      throw new Error(`command timed out after ${timeoutMs / 1000}s`);
    }
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString("utf8") };
  }

  /**
   * Runs a command in a running container with its streams attached (docker exec -i [-t]). A
   * terminal size known before the start is the tty's initial size (Docker API 1.42 and later; on
   * older engines the caller's resize after the start sets it).
   */
  async execStream(
    id: string,
    opts: { cmd: string[]; stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean; size?: TerminalSizeForRuntime },
  ): Promise<ProcessStreams> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: opts.cmd,
      AttachStdin: opts.stdin,
      AttachStdout: opts.stdout,
      AttachStderr: opts.stderr,
      Tty: opts.tty,
    });
    const start: Docker.ExecStartOptions & { ConsoleSize?: [number, number] } = { hijack: true, stdin: opts.stdin, Tty: opts.tty };
    if (opts.tty && opts.size) start.ConsoleSize = [opts.size.height, opts.size.width];
    const socket = (await exec.start(start)) as unknown as Duplex;
    const output = outputOf(socket, opts.tty);
    return {
      tty: opts.tty,
      output,
      stdin: socket,
      resize: async ({ width, height }) => {
        await exec.resize({ h: height, w: width });
      },
      // Docker records the exit code before it closes the streams; the retries cover an engine
      // that closes them first.
      exitCode: async (graceMs) => {
        const deadline = Date.now() + graceMs;
        for (;;) {
          const info = await exec.inspect();
          if (!info.Running) return info.ExitCode ?? undefined;
          if (Date.now() >= deadline) return undefined;
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      close: () => {
        output.destroy();
        socket.destroy();
      },
    };
  }

  /** Attaches to a running container's main process (docker attach), with its own tty or none. */
  async attachStream(id: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean }): Promise<ProcessStreams> {
    const container = this.docker.getContainer(id);
    const tty = (await container.inspect()).Config.Tty;
    const socket = (await container.attach({
      stream: true,
      stdin: opts.stdin,
      stdout: opts.stdout,
      stderr: opts.stderr,
      hijack: true,
    })) as unknown as Duplex;
    const output = outputOf(socket, tty);
    return {
      tty,
      output,
      stdin: socket,
      resize: async ({ width, height }) => {
        await container.resize({ h: height, w: width });
      },
      // The attach may end a moment before Docker marks the container stopped: wait for that,
      // at most graceMs.
      exitCode: async (graceMs) => {
        const info = await container.inspect();
        if (!info.State.Running) return info.State.ExitCode;
        if (graceMs <= 0) return undefined;
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), graceMs);
        try {
          const res = (await container.wait({ condition: "not-running", abortSignal: abort.signal })) as { StatusCode: number };
          return res.StatusCode;
        } catch (e) {
          if (abort.signal.aborted) return undefined;
          throw e;
        } finally {
          clearTimeout(timer);
        }
      },
      close: () => {
        output.destroy();
        socket.destroy();
      },
    };
  }

  async imagePresent(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch {
      return false;
    }
  }

  private sandboxImageSeen = 0;
  /** The sandbox image's presence, remembered for a minute: every new pod asks. */
  async sandboxImagePresent(image: string): Promise<boolean> {
    if (Date.now() - this.sandboxImageSeen < 60_000) return true;
    const present = await this.imagePresent(image);
    if (present) this.sandboxImageSeen = Date.now();
    return present;
  }

  async pull(image: string): Promise<void> {
    const stream = await this.docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  }

  /** A container's log stream (stdout and stderr demultiplexed into one). */
  async logs(id: string, opts: { follow: boolean; tail?: number; timestamps: boolean; since?: number }): Promise<Readable> {
    const container = this.docker.getContainer(id);
    const base = { stdout: true, stderr: true, timestamps: opts.timestamps, tail: opts.tail, since: opts.since ?? 0 };
    const { PassThrough } = await import("node:stream");
    const out = new PassThrough();
    if (opts.follow) {
      const raw = (await container.logs({ ...base, follow: true })) as unknown as Readable;
      this.docker.modem.demuxStream(raw, out, out);
      raw.on("end", () => out.end());
      raw.on("error", (e) => out.destroy(e));
      out.on("close", () => raw.destroy());
    } else {
      const buf = (await container.logs({ ...base, follow: false })) as unknown as Buffer;
      out.end(demuxBuffer(buf));
    }
    return out;
  }

  /**
   * Container lifecycle events of this node (die, oom, destroy): the kubelet's PLEG. Starts are
   * left out: the kubelet starts its containers itself and knows.
   */
  async events(onEvent: (podUid: string) => void, signal: AbortSignal): Promise<void> {
    const stream = (await this.docker.getEvents({
      filters: { type: ["container"], event: ["die", "oom", "destroy"], label: this.ownLabels() },
    })) as unknown as Readable;
    signal.addEventListener("abort", () => stream.destroy(), { once: true });
    let pending = "";
    stream.on("data", (b: Buffer) => {
      pending += b.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const ev = JSON.parse(line) as { Actor?: { ID?: string; Attributes?: Record<string, string> } };
          // The listing may still say "running" when "die" arrives: the next list inspects afresh.
          if (ev.Actor?.ID) this.inspected.delete(ev.Actor.ID);
          const uid = ev.Actor?.Attributes?.[LABEL.podUid];
          if (uid) onEvent(uid);
        } catch {
          // a partial line; the rest comes with the next chunk
        }
      }
    });
    await new Promise<void>((resolve) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", () => resolve());
    });
  }
}

/** Docker's multiplexed log format without a TTY: 8-byte headers, stream type and length. */
function demuxBuffer(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    if (buf[i] > 2 || buf[i + 1] !== 0) return buf; // not multiplexed (a TTY container)
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts);
}
