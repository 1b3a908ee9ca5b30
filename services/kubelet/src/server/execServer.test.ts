import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecInputSchema, KubeletService, type ExecInput, type ExecOutput, type ExecRequest } from "@kubelab/api";
import { grpcClientClass } from "@kubelab/client";
import { DockerRuntime, type ProcessStreams } from "../runtime/dockerRuntime.js";
import { LABEL } from "../runtime/labels.js";
import { startKubeletServer, type KubeletServer } from "./logServer.js";

// The Exec handler against the real Docker engine (no lab): busybox containers labelled as this
// test's node's pod containers, a kubelet server on a free port, a grpc-js client. Skipped, with
// the reason in its name, where Docker or the busybox image is missing.

const IMAGE = "kubelab/shell:dev";
const TEST_LABEL = "io.kubelab.test";
const docker = new Docker();
const node = `exec-test-${process.pid}`;
const project = "kubelab-exec-test";

async function unavailable(): Promise<string | undefined> {
  try {
    await docker.ping();
  } catch {
    return "Docker is not reachable";
  }
  try {
    await docker.getImage(IMAGE).inspect();
  } catch {
    return `the image ${IMAGE} is not present (npm run build:images builds it)`;
  }
  return undefined;
}

const skipReason = await unavailable();

interface KubeletStub extends grpc.Client {
  exec(): grpc.ClientDuplexStream<ExecInput, ExecOutput>;
}

/** A container as the kubelet would have made it for pod `pod`. */
async function podContainer(
  pod: string,
  name: string,
  cmd: string[],
  opts: { stdin?: boolean; start?: boolean } = {},
): Promise<Docker.Container> {
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: cmd,
    OpenStdin: opts.stdin ?? false,
    Labels: {
      [TEST_LABEL]: "exec",
      [LABEL.lab]: "true",
      [LABEL.node]: node,
      [LABEL.project]: project,
      [LABEL.podName]: pod,
      [LABEL.podNamespace]: "default",
      [LABEL.podUid]: `uid-${pod}`,
      [LABEL.containerName]: name,
      [LABEL.containerType]: "app",
      [LABEL.attempt]: "0",
    },
    HostConfig: { NetworkMode: "none" },
  });
  if (opts.start !== false) await c.start();
  return c;
}

interface Session {
  send(input: ExecInput["input"]): void;
  /** Half-closes the call. */
  end(): void;
  cancel(): void;
  /** Resolves once stdout matches. */
  stdoutMatches(re: RegExp): Promise<void>;
  result: Promise<{ stdout: string; stderr: string; exitCode?: number; error?: grpc.ServiceError }>;
}

describe.skipIf(skipReason !== undefined)(`Exec against Docker${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let server: KubeletServer;
  let client: KubeletStub;
  /** Every process's streams the server opened, newest last. */
  const opened: ProcessStreams[] = [];

  const open = (start: Partial<ExecRequest>): Session => {
    const call = client.exec();
    let stdout = "";
    let stderr = "";
    let exitCode: number | undefined;
    const watchers: (() => void)[] = [];
    call.on("data", (out: ExecOutput) => {
      if (out.output.case === "stdout") stdout += Buffer.from(out.output.value).toString();
      if (out.output.case === "stderr") stderr += Buffer.from(out.output.value).toString();
      if (out.output.case === "exit") exitCode = out.output.value.exitCode;
      for (const w of watchers) w();
    });
    const result = new Promise<Awaited<Session["result"]>>((resolve) => {
      call.on("error", (error: grpc.ServiceError) => resolve({ stdout, stderr, exitCode, error }));
      call.on("end", () => resolve({ stdout, stderr, exitCode }));
    });
    const send = (input: ExecInput["input"]) => call.write(create(ExecInputSchema, { input }));
    send({ case: "start", value: { namespace: "default", stdout: true, stderr: true, ...start } });
    return {
      send,
      end: () => call.end(),
      cancel: () => call.cancel(),
      stdoutMatches: (re) =>
        new Promise((resolve) => {
          const check = () => re.test(stdout) && resolve();
          watchers.push(check);
          check();
        }),
      result,
    };
  };

  beforeAll(async () => {
    await Promise.all([
      podContainer("execpod", "app", ["sleep", "3600"]),
      podContainer("execpod", "done", ["true"]).then((c) => c.wait()),
      podContainer("attachpod", "app", ["sh"], { stdin: true }),
    ]);
    const runtime = new DockerRuntime(docker, { nodeName: node, podNetwork: "none", project });
    const execStream = runtime.execStream.bind(runtime);
    runtime.execStream = async (id, opts) => {
      const streams = await execStream(id, opts);
      opened.push(streams);
      return streams;
    };
    server = await startKubeletServer(runtime, 0, "127.0.0.1");
    const Client = grpcClientClass<KubeletStub>(KubeletService);
    client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=exec`, `${LABEL.node}=${node}`] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  it("relays stdout and stderr apart and ends with the command's exit code", async () => {
    const s = open({ name: "execpod", container: "app", command: ["sh", "-c", "echo hi; echo err >&2; exit 3"] });
    expect(await s.result).toEqual({ stdout: "hi\n", stderr: "err\n", exitCode: 3 });
  });

  it("pipes stdin to the command, and close_stdin is its EOF", async () => {
    const s = open({ name: "execpod", container: "app", command: ["cat"], stdin: true });
    s.send({ case: "stdin", value: Buffer.from("line one\n") });
    await s.stdoutMatches(/line one\n/);
    s.send({ case: "stdin", value: Buffer.from("line two") });
    s.send({ case: "closeStdin", value: true });
    expect(await s.result).toEqual({ stdout: "line one\nline two", stderr: "", exitCode: 0 });
  });

  it("carries megabytes both ways through the streams' buffers", async () => {
    const chunk = Buffer.alloc(64 * 1024, "x");
    const up = open({ name: "execpod", container: "app", command: ["wc", "-c"], stdin: true });
    for (let i = 0; i < 64; i++) up.send({ case: "stdin", value: chunk });
    up.send({ case: "closeStdin", value: true });
    const down = open({ name: "execpod", container: "app", command: ["head", "-c", "4194304", "/dev/zero"] });
    const [u, d] = await Promise.all([up.result, down.result]);
    expect(u.stdout.trim()).toBe("4194304");
    expect([d.stdout.length, d.exitCode]).toEqual([4194304, 0]);
  });

  it("releases Docker's stream when the client cancels, though the command runs on", async () => {
    const s = open({ name: "execpod", container: "app", command: ["sh", "-c", "echo started; sleep 30"] });
    await s.stdoutMatches(/started/);
    s.cancel();
    expect((await s.result).error?.code).toBe(grpc.status.CANCELLED);
    await expect.poll(() => opened.at(-1)?.stdin.destroyed, { interval: 20 }).toBe(true);
  });

  it("gives a tty the size of a resize sent before the input that reads it", async () => {
    // `read` holds the command until the newline, which follows the resize: the size is in effect
    // whether or not the engine takes an initial console size (Docker API 1.42).
    const s = open({ name: "execpod", container: "app", command: ["sh", "-c", "read _; stty size"], stdin: true, tty: true });
    s.send({ case: "resize", value: { width: 100, height: 40 } });
    s.send({ case: "stdin", value: Buffer.from("\n") });
    const r = await s.result;
    expect(r.stdout).toMatch(/40 100/);
    expect([r.stderr, r.exitCode]).toEqual(["", 0]);
  });

  it("attaches to the main process, detaches with exit 0, and reports the container's exit", async () => {
    const first = open({ name: "attachpod", attach: true, stdin: true });
    first.send({ case: "stdin", value: Buffer.from("echo hello\n") });
    await first.stdoutMatches(/hello\n/);
    first.end();
    expect(await first.result).toEqual({ stdout: "hello\n", stderr: "", exitCode: 0 });

    const second = open({ name: "attachpod", attach: true, stdin: true });
    second.send({ case: "stdin", value: Buffer.from("echo again; exit 7\n") });
    expect(await second.result).toEqual({ stdout: "again\n", stderr: "", exitCode: 7 });
  });

  it("answers in Kubernetes' words when there is nothing to run in", async () => {
    const status = async (start: Partial<ExecRequest>) => {
      const { error } = await open({ command: ["true"], ...start }).result;
      return [error?.code, error?.details];
    };
    expect(await status({ name: "nopod" })).toEqual([grpc.status.NOT_FOUND, 'pod "nopod" has no containers on this node']);
    expect(await status({ name: "execpod", container: "nope" })).toEqual([grpc.status.NOT_FOUND, 'container not found ("nope")']);
    const [code, details] = await status({ name: "execpod", container: "done" });
    expect([code, details]).toEqual([grpc.status.FAILED_PRECONDITION, expect.stringMatching(/^container not running \([0-9a-f]{64}\)$/)]);
  });

  it("refuses a call that does not open with start", async () => {
    const call = client.exec();
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      call.on("error", resolve);
      call.on("data", () => undefined);
      call.write(create(ExecInputSchema, { input: { case: "stdin", value: Buffer.from("x") } }));
    });
    expect([error.code, error.details]).toEqual([grpc.status.INVALID_ARGUMENT, "the first message of an exec must be start"]);
  });
});
