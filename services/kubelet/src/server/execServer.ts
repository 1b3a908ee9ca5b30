import type { Writable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { ExecOutputSchema, type ExecInput, type ExecOutput, type ExecRequest, type TerminalSize } from "@kubelab/api";
import { UndecodableRequest } from "@kubelab/client";
import type { DockerRuntime, OutputChunk, ProcessStreams, RuntimeContainer } from "../runtime/dockerRuntime.js";
import { attemptsOf } from "../pods/podStatus.js";

/** A call's failure before (or instead of) its end: the gRPC status and Kubernetes' words. */
export type Rejection = [grpc.status, string];

/**
 * The name of the container a pods/log, exec or attach request means: the one named, or the pod's
 * only app container (the API server's rule; the default-container annotation is the API
 * server's to apply, the kubelet has only the labels).
 */
export function containerNameFor(pod: string, requested: string, containers: RuntimeContainer[]): { name?: string; error?: Rejection } {
  if (requested) return { name: requested };
  const names = [...new Set(containers.filter((c) => c.type === "app").map((c) => c.name))];
  if (names.length !== 1)
    return {
      error: [grpc.status.INVALID_ARGUMENT, `a container name must be specified for pod ${pod}, choose one of: [${names.join(" ")}]`],
    };
  return { name: names[0] };
}

/**
 * This node's containers of the pod by this name: of its newest incarnation, since a pod recreated
 * under the same name has a new uid and the old one's containers may linger a moment.
 */
export async function podContainers(runtime: DockerRuntime, namespace: string, name: string): Promise<RuntimeContainer[]> {
  const list = (await runtime.list()).filter((c) => c.podNamespace === namespace && c.podName === name);
  if (list.length === 0) return [];
  const newest = list.reduce((a, b) => (a.createdAt > b.createdAt ? a : b)).podUid;
  return list.filter((c) => c.podUid === newest);
}

/** Request bytes that are not the method's message, worded as the API server words them. */
export const undecodable = (r: UndecodableRequest): Rejection => [
  grpc.status.INVALID_ARGUMENT,
  `the request could not be decoded as ${r.messageName}: ${(r.cause as Error)?.message ?? String(r.cause)}`,
];

/** No container of the pod on this node. */
export const noPodContainers = (pod: string): Rejection => [grpc.status.NOT_FOUND, `pod "${pod}" has no containers on this node`];

/**
 * The first message of an Exec call opens it: it must be start, and ask for at least one stream
 * (the kubelet's remotecommand rule; with a tty, stderr is stdout and is not asked for apart).
 */
export function startRequest(first: ExecInput | UndecodableRequest | undefined): { req?: ExecRequest; error?: Rejection } {
  if (first instanceof UndecodableRequest) return { error: undecodable(first) };
  if (first?.input.case !== "start") return { error: [grpc.status.INVALID_ARGUMENT, "the first message of an exec must be start"] };
  const req = first.input.value;
  const stderr = req.stderr && !req.tty;
  if (!req.stdin && !req.stdout && !stderr)
    return { error: [grpc.status.INVALID_ARGUMENT, "you must specify at least 1 of stdin, stdout, stderr"] };
  if (!req.attach && req.command.length === 0)
    return { error: [grpc.status.INVALID_ARGUMENT, "you must specify at least one command for the container"] };
  return { req: { ...req, stderr } };
}

/**
 * The container an exec or attach runs in: the newest run of the named container (an init
 * container too, never the sandbox), which must be running. The words are the kubelet's
 * (findContainer) and dockershim's (checkContainerStatus).
 */
export function execTarget(req: ExecRequest, containers: RuntimeContainer[]): { target?: RuntimeContainer; error?: Rejection } {
  const own = containers.filter((c) => c.type !== "sandbox");
  const { name, error } = containerNameFor(req.name, req.container, own);
  if (error) return { error };
  const [newest] = attemptsOf(own, name!);
  if (!newest) return { error: [grpc.status.NOT_FOUND, `container not found ("${name}")`] };
  if (newest.state !== "running") return { error: [grpc.status.FAILED_PRECONDITION, `container not running (${newest.id})`] };
  return { target: newest };
}

type ExecCall = grpc.ServerDuplexStream<ExecInput | UndecodableRequest, ExecOutput>;

/** How long an exec's command has to be marked ended once its output ended. */
const EXEC_EXIT_GRACE_MS = 2_000;
/** How long an attach that ended by itself waits for the container to be marked stopped. */
const ATTACH_EXIT_GRACE_MS = 1_000;
/** The terminal's end-of-file character (VEOF, ^D): how a tty's reader hears the end of input. */
const EOT = Buffer.from([0x04]);

/** The KubeletService.Exec handler: each call an ExecSession. */
export function execHandler(runtime: DockerRuntime): (call: ExecCall) => void {
  return (call) => new ExecSession(runtime, call).start();
}

/**
 * One Exec call: reads the start message, opens the process's streams in Docker, then relays
 * stdin, resizes and output until the process ends, the client detaches or cancels.
 *
 * Input is applied in order, one message at a time, with the call paused meanwhile: a resize is
 * in effect before any stdin sent after it, and a stdin Docker cannot take yet holds back the
 * call (and, through HTTP/2 flow control, the client). Output that the call cannot take pauses
 * Docker's stream until "drain". Memory stays at the streams' buffers either way.
 */
class ExecSession {
  private req?: ExecRequest;
  private streams?: ProcessStreams;
  /** True once the input that came while the process was being opened is applied. */
  private ready = false;
  /** A resize that came before the process started (and before any other input): its initial size. */
  private initialSize?: TerminalSize;
  /** Input that came while the process was being opened, applied in order once it runs. */
  private readonly pending: ExecInput[] = [];
  /** The client half-closed the call before the process was ready. */
  private inputEnded = false;
  private stdinClosed = false;
  /** This side ended the attach (the client half-closed): its end is a detach, not the container's. */
  private detached = false;
  private exiting = false;
  private finished = false;

  constructor(
    private readonly runtime: DockerRuntime,
    private readonly call: ExecCall,
  ) {}

  start(): void {
    // A cancelled call releases Docker's connection; an exec's command runs on (Docker has no exec kill).
    this.call.on("cancelled", () => this.release());
    this.call.on("data", (input: ExecInput | UndecodableRequest) => this.onInput(input));
    this.call.on("end", () => this.onInputEnd());
    this.call.on("drain", () => this.streams?.output.resume());
  }

  /** Routes one message by phase: the start, input while opening, input to the running process. */
  private onInput(input: ExecInput | UndecodableRequest): void {
    if (this.finished) return;
    if (!this.req) {
      const { req, error } = startRequest(input);
      if (error) return this.fail(error);
      this.req = req;
      void this.open();
      return;
    }
    if (input instanceof UndecodableRequest) return this.fail(undecodable(input));
    if (this.ready) {
      this.call.pause();
      void this.apply(input).then(() => {
        if (!this.finished) this.call.resume();
      });
      return;
    }
    // Opening: the latest resize before any other input is the terminal's initial size; the rest waits.
    if (input.input.case === "resize" && this.pending.length === 0 && !this.streams) {
      this.initialSize = input.input.value;
      return;
    }
    this.pending.push(input);
    this.call.pause();
  }

  /** Finds the container, opens the process's streams, then applies what came meanwhile. */
  private async open(): Promise<void> {
    const req = this.req!;
    try {
      const containers = await podContainers(this.runtime, req.namespace, req.name);
      if (containers.length === 0) return this.fail(noPodContainers(req.name));
      const { target, error } = execTarget(req, containers);
      if (error) return this.fail(error);
      const size = this.initialSize && { width: this.initialSize.width, height: this.initialSize.height };
      const io = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr };
      this.streams = req.attach
        ? await this.runtime.attachStream(target!.id, io)
        : await this.runtime.execStream(target!.id, { ...io, cmd: req.command, tty: req.tty, size });
    } catch (e) {
      return this.fail(dockerRejection(e));
    }
    if (this.finished) return this.streams.close();
    this.relayOutput(this.streams);
    // An engine without ConsoleSize (before API 1.42) learns the initial size here; for an attach this is its resize.
    if (this.initialSize) await this.resize(this.initialSize);
    while (this.pending.length > 0 && !this.finished) await this.apply(this.pending.shift()!);
    this.ready = true;
    if (this.finished) return;
    if (this.inputEnded) this.onInputEnd();
    else this.call.resume();
  }

  /** Docker's output to the call, paused while the call's buffer is full; its end is the process's. */
  private relayOutput(streams: ProcessStreams): void {
    streams.output.on("data", (chunk: OutputChunk) => {
      if (this.finished) return;
      const out = create(ExecOutputSchema, { output: { case: chunk.stream, value: chunk.data } });
      if (!this.call.write(out)) streams.output.pause();
    });
    streams.output.on("end", () => void this.exited());
  }

  /** Applies one input to the running process; resolves when the next may follow. */
  private async apply(input: ExecInput): Promise<void> {
    const streams = this.streams!;
    switch (input.input.case) {
      case "stdin":
        if (!this.req!.stdin || this.stdinClosed) return;
        return writeAll(streams.stdin, input.input.value);
      case "resize":
        return this.resize(input.input.value);
      case "closeStdin":
        return this.closeStdin();
      case "start":
        return this.fail([grpc.status.INVALID_ARGUMENT, "start must be the first message of an exec, and only the first"]);
    }
  }

  /** A size the process cannot take (no tty, already gone) is dropped, as Kubernetes' runtimes drop it. */
  private async resize(size: TerminalSize): Promise<void> {
    if (!this.streams?.tty) return;
    await this.streams.resize({ width: size.width, height: size.height }).catch(() => undefined);
  }

  /**
   * The client's stdin ended. Without a tty, the connection's write side is half-closed: EOF for
   * the command (for an attach, Docker closes a StdinOnce container's stdin, else detaches). A
   * tty's process would never hear that (Docker takes it as a detach and leaves the command
   * running, its exit unknown), so it gets the terminal's EOF character, as if typed.
   */
  private async closeStdin(): Promise<void> {
    if (!this.req!.stdin || this.stdinClosed) return;
    this.stdinClosed = true;
    const stdin = this.streams!.stdin;
    if (this.streams!.tty && !this.req!.attach) return writeAll(stdin, EOT);
    stdin.end();
  }

  /** The client half-closed the call: no more stdin for an exec; a detach for an attach. */
  private onInputEnd(): void {
    if (this.finished) return;
    if (!this.req) return this.fail(startRequest(undefined).error!);
    if (!this.ready) {
      this.inputEnded = true;
      return;
    }
    if (this.req.attach) {
      this.detached = true;
      this.streams!.close();
      void this.exited();
      return;
    }
    void this.closeStdin();
  }

  /** The output ended: the exit code closes the call. */
  private async exited(): Promise<void> {
    if (this.finished || this.exiting) return;
    this.exiting = true;
    const req = this.req!;
    let code: number | undefined;
    try {
      const graceMs = !req.attach ? EXEC_EXIT_GRACE_MS : this.detached ? 0 : ATTACH_EXIT_GRACE_MS;
      code = await this.streams!.exitCode(graceMs);
    } catch (e) {
      return this.fail(dockerRejection(e));
    }
    if (this.finished) return;
    // An attach whose container runs on was detached from.
    if (code === undefined && req.attach) code = 0;
    if (code === undefined) return this.fail([grpc.status.INTERNAL, "the command's streams closed while it still runs"]);
    this.call.write(create(ExecOutputSchema, { output: { case: "exit", value: { exitCode: code } } }));
    this.call.end();
    this.release();
  }

  private fail([code, details]: Rejection): void {
    if (this.finished) return;
    this.call.emit("error", { code, details });
    this.release();
  }

  private release(): void {
    this.finished = true;
    this.streams?.close();
  }
}

/** Writes a chunk, resolving once the stream can take more (or is gone). */
function writeAll(stream: Writable, data: Uint8Array): Promise<void> {
  if (stream.destroyed || stream.write(data)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/** Docker's answers as statuses: a container gone is NOT_FOUND, a stopped or paused one FAILED_PRECONDITION. */
function dockerRejection(e: unknown): Rejection {
  const err = e as { statusCode?: number; message?: string; json?: { message?: string } };
  const message = err.json?.message ?? err.message ?? String(e);
  if (err.statusCode === 404) return [grpc.status.NOT_FOUND, message];
  if (err.statusCode === 409) return [grpc.status.FAILED_PRECONDITION, message];
  return [grpc.status.INTERNAL, message];
}
