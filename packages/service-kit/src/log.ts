import { ConfigError } from "./config.js";
// Log lines in klog's spirit (severity letter, time, component, message) on stderr,
// so `docker compose logs` reads like a Kubernetes component's output.

/** Debug lines (klog's -v=4 and up) are written only when KUBELAB_LOG_LEVEL=debug. */
export type Level = "D" | "I" | "W" | "E";

type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line (klog's WithValues), e.g. the pod a worker syncs. */
  with(fields: Fields): Logger;
}

export interface LoggerOptions {
  /** Write debug lines too (default: KUBELAB_LOG_LEVEL=debug). */
  debug?: boolean;
}

const formatFields = (fields: Fields) =>
  Object.entries(fields)
    .map(
      ([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`,
    )
    .join(" ");

export function createLogger(
  component: string,
  sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  opts: LoggerOptions = {},
): Logger {
  const debug = opts.debug ?? process.env.KUBELAB_LOG_LEVEL === "debug";
  const make = (base: Fields): Logger => {
    const write = (level: Level, msg: string, fields?: Fields) => {
      const all = fields ? { ...base, ...fields } : base;
      const extra = Object.keys(all).length ? ` ${formatFields(all)}` : "";
      sink(`${level} ${new Date().toISOString()} ${component}] ${msg}${extra}`);
    };
    return {
      debug: (m, f) => debug && write("D", m, f),
      info: (m, f) => write("I", m, f),
      warn: (m, f) => write("W", m, f),
      error: (m, f) => write("E", m, f),
      with: (f) => make({ ...base, ...f }),
    };
  };
  return make({});
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal: sig });
    stop()
      .catch((e: unknown) => log.error("shutdown failed", { error: e }))
      .finally(() => process.exit(0));
  };
  process.on("SIGINT", () => handler("SIGINT"));
  process.on("SIGTERM", () => handler("SIGTERM"));
}

/** What a component's start gives back: how to stop it, and a fatal end it may come to by itself. */
export interface RunningComponent {
  close(): Promise<void>;
  /** Resolves (with why) when the component must exit, as Kubernetes' components exit when they lose their leader lease. */
  fatal?: Promise<string>;
}

/**
 * A component's main: loads its configuration, starts it, and stops it on SIGINT/SIGTERM; a bad
 * flag, a failed start or a fatal end is one log line and exit code 1 (its container restarts it).
 */
export async function runComponent(component: string, start: (log: Logger) => Promise<RunningComponent>): Promise<void> {
  const log = createLogger(component);
  try {
    const running = await start(log);
    onShutdown(log, () => running.close());
    void running.fatal?.then((why) => {
      log.error(why);
      process.exit(1);
    });
  } catch (e) {
    if (e instanceof ConfigError) log.error(e.message);
    else log.error(`${component} failed to start`, { error: (e as Error).stack ?? String(e) });
    process.exit(1);
  }
}
