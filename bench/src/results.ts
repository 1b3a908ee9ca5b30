import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Row {
  metric: string;
  value: string;
  target: string;
  pass?: boolean;
}

const resultsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "RESULTS.md");

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** Prints the rows and replaces this benchmark's section of bench/RESULTS.md. */
export function record(name: string, rows: Row[], notes: string[] = []): void {
  const date = new Date().toISOString().slice(0, 10);
  const table = [
    "| metric | value | target | met |",
    "| --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.metric} | ${r.value} | ${r.target} | ${r.pass === undefined ? "" : r.pass ? "yes" : "**no**"} |`),
  ].join("\n");
  const section = [`## ${name}`, "", `Run ${date} on ${machine()}.`, "", table, "", ...notes.map((n) => `- ${n}`), ""].join("\n");
  process.stdout.write(`\n${section}\n`);
  let text = existsSync(resultsFile)
    ? readFileSync(resultsFile, "utf8")
    : "# Benchmark results\n\nWritten by `npm run bench -- <name>`; each section is replaced by its latest run.\n\n";
  const re = new RegExp(`## ${name}\\n[\\s\\S]*?(?=\\n## |$)`);
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(resultsFile, `${text.trimEnd()}\n`);
}
