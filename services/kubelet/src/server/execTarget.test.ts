import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExecInputSchema, ExecRequestSchema, type ExecRequest } from "@kubelab/api";
import { UndecodableRequest } from "@kubelab/client";
import { rc } from "../testing/runtimeContainers.js";
import { containerNameFor, execTarget, startRequest } from "./execServer.js";

const start = (o: Partial<ExecRequest> = {}) =>
  create(ExecInputSchema, { input: { case: "start", value: { namespace: "default", name: "p", command: ["sh"], stdout: true, ...o } } });
const req = (o: Partial<ExecRequest> = {}) => create(ExecRequestSchema, { namespace: "default", name: "p", command: ["sh"], ...o });
const sandbox = rc({ name: "POD", type: "sandbox", id: "sandbox" });

describe("startRequest", () => {
  it("opens a call with start and nothing else", () => {
    expect(startRequest(start()).req).toMatchObject({ name: "p", command: ["sh"], stdout: true });
    expect(startRequest(create(ExecInputSchema, { input: { case: "stdin", value: new Uint8Array([1]) } })).error).toEqual([
      grpc.status.INVALID_ARGUMENT,
      "the first message of an exec must be start",
    ]);
    expect(startRequest(create(ExecInputSchema, {})).error?.[0]).toBe(grpc.status.INVALID_ARGUMENT);
    expect(startRequest(undefined).error?.[0]).toBe(grpc.status.INVALID_ARGUMENT);
    expect(startRequest(new UndecodableRequest("kubelab.core.v1.ExecInput", new Error("bad"))).error).toEqual([
      grpc.status.INVALID_ARGUMENT,
      "the request could not be decoded as kubelab.core.v1.ExecInput: bad",
    ]);
  });

  it("wants at least one stream, and a tty's stderr is its stdout", () => {
    const none = [grpc.status.INVALID_ARGUMENT, "you must specify at least 1 of stdin, stdout, stderr"];
    expect(startRequest(start({ stdout: false })).error).toEqual(none);
    expect(startRequest(start({ stdout: false, stderr: true, tty: true })).error).toEqual(none);
    expect(startRequest(start({ stdout: true, stderr: true, tty: true })).req).toMatchObject({ stdout: true, stderr: false });
    expect(startRequest(start({ stdout: false, stderr: true })).req).toMatchObject({ stderr: true });
  });

  it("wants a command for an exec, none for an attach", () => {
    expect(startRequest(start({ command: [] })).error).toEqual([
      grpc.status.INVALID_ARGUMENT,
      "you must specify at least one command for the container",
    ]);
    expect(startRequest(start({ command: [], attach: true })).req).toMatchObject({ attach: true });
  });
});

describe("containerNameFor", () => {
  it("takes the named container, or the pod's only app container", () => {
    expect(containerNameFor("p", "x", [])).toEqual({ name: "x" });
    expect(containerNameFor("p", "", [sandbox, rc({ name: "init", type: "init" }), rc({}), rc({ attempt: 1 })])).toEqual({
      name: "app",
    });
  });

  it("asks for a name when the pod has several app containers, or none yet", () => {
    expect(containerNameFor("p", "", [rc({}), rc({ name: "sidecar" })]).error).toEqual([
      grpc.status.INVALID_ARGUMENT,
      "a container name must be specified for pod p, choose one of: [app sidecar]",
    ]);
    expect(containerNameFor("p", "", [sandbox]).error?.[1]).toBe("a container name must be specified for pod p, choose one of: []");
  });
});

describe("execTarget", () => {
  it("runs in the newest run of the container, an init container too", () => {
    const pod = [sandbox, rc({ attempt: 0, state: "exited" }), rc({ attempt: 1 }), rc({ name: "init", type: "init" })];
    expect(execTarget(req(), pod).target?.id).toBe("app-1");
    expect(execTarget(req({ container: "init" }), pod).target?.id).toBe("init-0");
  });

  it("finds no container the pod does not run here, nor the sandbox (the kubelet's findContainer)", () => {
    const notFound = (c: string) => [grpc.status.NOT_FOUND, `container not found ("${c}")`];
    expect(execTarget(req({ container: "nope" }), [sandbox, rc({})]).error).toEqual(notFound("nope"));
    expect(execTarget(req({ container: "POD" }), [sandbox, rc({})]).error).toEqual(notFound("POD"));
  });

  it("refuses a container whose newest run is not running (dockershim's checkContainerStatus)", () => {
    const pod = [rc({ attempt: 0 }), rc({ attempt: 1, state: "exited" })];
    expect(execTarget(req(), pod).error).toEqual([grpc.status.FAILED_PRECONDITION, "container not running (app-1)"]);
    expect(execTarget(req(), [rc({ state: "created" })]).error?.[0]).toBe(grpc.status.FAILED_PRECONDITION);
  });

  it("asks which container when the pod has several", () => {
    expect(execTarget(req(), [rc({}), rc({ name: "sidecar" })]).error?.[0]).toBe(grpc.status.INVALID_ARGUMENT);
  });
});
