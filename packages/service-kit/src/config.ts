import { Command, Option } from "commander";
import { parseDurationSeconds } from "@kubelab/api";

// One typed configuration object per service, read from flags and the environment.
// Flags take Kubernetes' names where a Kubernetes component has the same setting
// (--etcd-servers, --secure-port...); each flag also reads an environment variable.

export interface OptionSpec<T> {
  /** The flag's name without dashes, e.g. "etcd-servers". */
  flag: string;
  description: string;
  default: T;
  /** Environment variable; by default KUBELAB_ + the flag in upper snake case. */
  env?: string;
  /**
   * A duration in seconds: takes Kubernetes' (Go's) form, "40s", "5m", "1h30m", "500ms", as
   * well as a bare number of seconds.
   */
  duration?: boolean;
}

type Spec = Record<string, OptionSpec<string> | OptionSpec<number> | OptionSpec<boolean> | OptionSpec<string[]>>;
type Widen<T> = T extends number
  ? number
  : T extends string
    ? string
    : T extends boolean
      ? boolean
      : T extends readonly string[]
        ? string[]
        : T;
export type ConfigOf<S extends Spec> = { [K in keyof S]: Widen<S[K]["default"]> };

export const envNameFor = (flag: string) => `KUBELAB_${flag.toUpperCase().replace(/-/g, "_")}`;

export class ConfigError extends Error {}

function parseAs(kind: unknown, flag: string, raw: string, duration = false): string | number | boolean | string[] {
  if (duration) {
    const seconds = parseDurationSeconds(raw);
    if (seconds === undefined)
      throw new ConfigError(
        `--${flag}: invalid value ${JSON.stringify(raw)}: must be a duration such as 40s, 5m or 1h30m, or a number of seconds`,
      );
    return seconds;
  }
  if (typeof kind === "number") {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new ConfigError(`--${flag}: invalid value ${JSON.stringify(raw)}: must be a number`);
    return n;
  }
  if (typeof kind === "boolean") {
    if (!["true", "false", "1", "0"].includes(raw)) {
      throw new ConfigError(`--${flag}: invalid value ${JSON.stringify(raw)}: must be true or false`);
    }
    return raw === "true" || raw === "1";
  }
  if (Array.isArray(kind))
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  return raw;
}

/** Parses argv and the environment against the spec; flags win over environment over defaults. */
export function loadConfig<S extends Spec>(
  component: string,
  spec: S,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const cmd = new Command(component).exitOverride().allowExcessArguments(false);
  for (const s of Object.values(spec)) {
    const envName = s.env ?? envNameFor(s.flag);
    cmd.addOption(new Option(`--${s.flag} <value>`, `${s.description} (env ${envName})`));
  }
  cmd.configureOutput({ writeErr: () => {} });
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (e) {
    throw new ConfigError(`${component}: ${(e as Error).message.replace(/^error: /, "")}`);
  }
  const opts = cmd.opts<Record<string, string | undefined>>();
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec)) {
    const camel = s.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = opts[camel] ?? env[s.env ?? envNameFor(s.flag)];
    out[key] = raw === undefined ? s.default : parseAs(s.default, s.flag, raw, s.duration);
  }
  return out as ConfigOf<S>;
}
