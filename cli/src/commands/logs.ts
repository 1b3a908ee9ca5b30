import { connect, type GlobalOptions } from "../context.js";

export interface LogsOptions extends GlobalOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tail?: string;
  timestamps?: boolean;
}

/** kubectl logs: the bytes as the container wrote them, streamed until the end (or Ctrl-C with -f). */
export async function logs(pod: string, opts: LogsOptions): Promise<void> {
  let tailLines: number | undefined;
  if (opts.tail !== undefined) {
    tailLines = Number(opts.tail);
    if (!Number.isInteger(tailLines)) throw new Error(`--tail: invalid value ${JSON.stringify(opts.tail)}: must be an integer`);
    if (tailLines < 0) tailLines = undefined; // kubectl: -1 means all lines
  }
  const client = connect(opts);
  const stop = () => client.close();
  process.once("SIGINT", stop);
  try {
    for await (const chunk of client.logs({
      namespace: opts.namespace,
      name: pod,
      container: opts.container,
      follow: opts.follow,
      previous: opts.previous,
      tailLines,
      timestamps: opts.timestamps,
    })) {
      if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once("drain", r));
    }
  } finally {
    process.off("SIGINT", stop);
    client.close();
  }
}
