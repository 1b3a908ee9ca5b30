import type { ExecOutput } from "@kubelab/api";
import { ApiError } from "@kubelab/api";
import { create } from "@bufbuild/protobuf";
import { ExecInputSchema } from "@kubelab/api";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";

export interface ExecOptions extends GlobalOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
}

/**
 * kubectl exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [args...]: the command's output here, its
 * exit code as this process's. With -t and a terminal, the terminal is put in raw mode and its
 * size follows the window's; with -i, this process's stdin goes to the command until it ends.
 */
export async function exec(pod: string, command: string[], opts: ExecOptions): Promise<void> {
  if (command.length === 0) throw new UsageError("you must specify at least one command for the container");
  const tty = !!opts.tty && !!opts.stdin && process.stdin.isTTY === true;
  if (opts.tty && !tty) process.stderr.write("Unable to use a TTY - input is not a terminal or the right kind of file\n");
  const client = connect(opts);
  const call = client.exec({
    namespace: namespaceOf(opts),
    name: pod,
    container: opts.container ?? "",
    command,
    stdin: !!opts.stdin,
    stdout: true,
    stderr: !tty,
    tty,
  });
  const send = (input: Parameters<typeof create<typeof ExecInputSchema>>[1]) => call.write(create(ExecInputSchema, input));
  const resize = () =>
    send({ input: { case: "resize", value: { width: process.stdout.columns ?? 80, height: process.stdout.rows ?? 24 } } });
  if (tty) {
    process.stdin.setRawMode(true);
    resize();
    process.stdout.on("resize", resize);
  }
  const onStdin = (b: Buffer) => {
    if (!send({ input: { case: "stdin", value: b } })) process.stdin.pause();
  };
  if (opts.stdin) {
    process.stdin.on("data", onStdin);
    call.on("drain", () => process.stdin.resume());
    process.stdin.on("end", () => send({ input: { case: "closeStdin", value: true } }));
  }
  try {
    const exitCode = await new Promise<number>((resolve, reject) => {
      let code = 0;
      call.on("data", (m: ExecOutput) => {
        if (m.output.case === "stdout") process.stdout.write(m.output.value);
        else if (m.output.case === "stderr") process.stderr.write(m.output.value);
        else if (m.output.case === "exit") code = m.output.value.exitCode;
      });
      call.on("end", () => resolve(code));
      call.on("error", (e) => reject(ApiError.fromServiceError(e as never)));
    });
    if (exitCode !== 0) {
      process.stderr.write(`command terminated with exit code ${exitCode}\n`);
      process.exitCode = exitCode;
    }
  } finally {
    if (tty) process.stdin.setRawMode(false);
    process.stdin.off("data", onStdin);
    process.stdin.pause();
    call.end();
    client.close();
  }
}
