import { promises as fs } from "node:fs";
import { VolumeSetupError } from "./projections.js";

/**
 * Kubernetes' hostPath type check (pkg/volume/hostpath checkTypeInternal), run inside the node:
 * the ...OrCreate types make what is missing (a directory 0755, an empty file 0644), the others
 * require what is there to be of their type, in the kubelet's words. "" checks nothing (the
 * runtime creates a missing directory).
 */
export async function checkHostPathType(nodePath: string, type: string): Promise<void> {
  const stat = await fs.lstat(nodePath).catch(() => undefined);
  const st = stat?.isSymbolicLink() ? await fs.stat(nodePath).catch(() => undefined) : stat;
  const fail = (what: string) => new VolumeSetupError(`hostPath type check failed: ${nodePath} is not a ${what}`);
  switch (type) {
    case "":
      return;
    case "DirectoryOrCreate":
      if (!st) {
        await fs.mkdir(nodePath, { recursive: true, mode: 0o755 });
        return;
      }
      if (!st.isDirectory()) throw fail("directory");
      return;
    case "Directory":
      if (!st?.isDirectory()) throw fail("directory");
      return;
    case "FileOrCreate":
      if (!st) {
        // Kubernetes makes the file, not its directory.
        await fs.writeFile(nodePath, "", { mode: 0o644, flag: "a" }).catch((e: Error) => {
          throw new VolumeSetupError(`hostPath type check failed: ${e.message}`);
        });
        return;
      }
      if (!st.isFile()) throw fail("file");
      return;
    case "File":
      if (!st?.isFile()) throw fail("file");
      return;
    case "Socket":
      if (!st?.isSocket()) throw fail("socket file");
      return;
    case "CharDevice":
      if (!st?.isCharacterDevice()) throw fail("character device");
      return;
    case "BlockDevice":
      if (!st?.isBlockDevice()) throw fail("block device");
      return;
    default:
      throw new VolumeSetupError(`${type} is an invalid volume type`);
  }
}
