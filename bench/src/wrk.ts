import { exec } from "./benchLab.js";

// wrk (one thread, in its own process) against a URL, its figures parsed from its report.
export interface WrkResult {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
}

const ms = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit]!;

export async function wrk(url: string, connections: number, seconds: number): Promise<WrkResult> {
  const { stdout } = await exec("wrk", ["-t", "1", "-c", String(connections), "-d", `${seconds}s`, "--latency", url], {
    timeout: (seconds + 30) * 1000,
  });
  const lat = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(stdout);
    if (!m) throw new Error(`wrk printed no ${p}% latency:\n${stdout}`);
    return ms(m[1]!, m[2]!);
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, requests, p50: lat("50"), p99: lat("99"), errors };
}
