import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

/** One file of a volume's contents. */
export interface FileProjection {
  data: Buffer;
  /** Permission bits (Kubernetes' defaultMode or the item's mode). */
  mode: number;
}

/** A volume's files by their path relative to the volume's directory. */
export type Payload = Map<string, FileProjection>;

const DATA_DIR = "..data";
const DATA_DIR_TMP = "..data_tmp";

/** Kubernetes' timestamped directory name: ..2006_01_02_15_04_05.<random>. */
export function timestampDirName(now: Date, random: string): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const t = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}`;
  return `..${t}.${random}`;
}

/** The names a user sees at the top of the volume: the first element of each file's path. */
export function userVisibleNames(payload: Payload): Set<string> {
  return new Set([...payload.keys()].map((p) => p.split("/")[0]!));
}

async function readPayload(dir: string, names: string[]): Promise<Payload | undefined> {
  const out: Payload = new Map();
  for (const name of names) {
    const stat = await fs.stat(path.join(dir, name)).catch(() => undefined);
    if (!stat?.isFile()) return undefined;
    out.set(name, { data: await fs.readFile(path.join(dir, name)), mode: stat.mode & 0o777 });
  }
  return out;
}

async function samePayload(dir: string, payload: Payload): Promise<boolean> {
  const current = await readPayload(dir, [...payload.keys()]);
  if (!current) return false;
  const files = await listFiles(dir);
  if (files.length !== payload.size) return false;
  return [...payload].every(([p, f]) => current.get(p)!.data.equals(f.data) && current.get(p)!.mode === f.mode);
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.posix.join(prefix, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out;
}

/**
 * Kubernetes' AtomicWriter: a reader of the volume sees the whole old payload or the whole new
 * one, never a mix. The files go into a new timestamped directory (..<timestamp>); the ..data
 * symlink is pointed at it by a rename (atomic); each name the user sees is a symlink through
 * ..data (key -> ..data/key); then names no longer in the payload and the old directory go.
 * Returns whether anything was written (an unchanged payload leaves the directory alone).
 */
export async function writeAtomically(dir: string, payload: Payload, now = new Date()): Promise<boolean> {
  for (const p of payload.keys()) {
    if (path.posix.isAbsolute(p) || p.split("/").includes("..") || p.startsWith(".."))
      throw new Error(`invalid file path ${JSON.stringify(p)}`);
  }
  await fs.mkdir(dir, { recursive: true });
  const dataLink = path.join(dir, DATA_DIR);
  const oldTsDir = await fs.readlink(dataLink).catch(() => undefined);
  if (oldTsDir && (await samePayload(path.join(dir, oldTsDir), payload))) return false;

  const tsDir = timestampDirName(now, randomBytes(5).toString("hex"));
  const tsPath = path.join(dir, tsDir);
  await fs.mkdir(tsPath, { mode: 0o755 });
  for (const [p, f] of payload) {
    const file = path.join(tsPath, p);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    await fs.writeFile(file, f.data);
    // Set after the write: the process's umask would narrow the mode given at open.
    await fs.chmod(file, f.mode);
  }
  await fs.rm(path.join(dir, DATA_DIR_TMP), { force: true });
  await fs.symlink(tsDir, path.join(dir, DATA_DIR_TMP));
  await fs.rename(path.join(dir, DATA_DIR_TMP), dataLink);

  const names = userVisibleNames(payload);
  for (const name of names) {
    const link = path.join(dir, name);
    const target = await fs.readlink(link).catch(() => undefined);
    if (target === path.posix.join(DATA_DIR, name)) continue;
    await fs.rm(link, { recursive: true, force: true });
    await fs.symlink(path.posix.join(DATA_DIR, name), link);
  }
  for (const e of await fs.readdir(dir)) {
    if (e.startsWith("..") || names.has(e)) continue;
    await fs.rm(path.join(dir, e), { recursive: true, force: true });
  }
  if (oldTsDir && oldTsDir !== tsDir) await fs.rm(path.join(dir, oldTsDir), { recursive: true, force: true });
  return true;
}
