import { KUBELAB_VERSION } from "@kubelab/api";
import { connect, type GlobalOptions } from "../context.js";

export async function version(opts: GlobalOptions): Promise<void> {
  process.stdout.write(`Client Version: ${KUBELAB_VERSION}\n`);
  const client = connect(opts);
  try {
    const v = await client.version();
    process.stdout.write(`Server Version: ${v.gitVersion} (${v.platform}, Node ${v.nodeVersion})\netcd Version: ${v.etcdVersion}\n`);
  } finally {
    client.close();
  }
}
