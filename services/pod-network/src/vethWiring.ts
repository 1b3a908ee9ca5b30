import { execFile } from "node:child_process";

// One shell per sandbox, run in the host's network namespace: the outer end of a veth pair joins
// the bridge, the inner end moves into the sandbox's namespace (entered by its PID) and becomes
// eth0 with the pod's address and routes. iproute2 and BusyBox's ip both take these commands;
// BusyBox ignores the peer's name (the kernel then names it vethN), so the name is read back.
// No Node library speaks rtnetlink well enough to replace a handful of `ip` calls.
const SCRIPT = `
set -e
host=$1 peer=$2 bridge=$3 pid=$4 addr=$5 gw=$6
shift 6
# The host end exists only once the whole wiring succeeded (a failed one removes it): done before.
if ip link show "$host" >/dev/null 2>&1; then exit 0; fi
trap 'ip link del "$host" 2>/dev/null' EXIT
ip link add "$host" type veth peer name "$peer"
peer=$(ip -o link show "$host" | sed -n 's/^[0-9]*: [^@]*@\\([^:]*\\):.*/\\1/p')
ip link set "$peer" netns "$pid"
ip link set "$host" master "$bridge" up
nsenter -t "$pid" -n sh -c '
  set -e
  ip link set "$1" name eth0
  ip addr add "$2" dev eth0
  ip link set eth0 up
  ip route add default via "$3"
  shift 3
  while [ $# -ge 2 ]; do ip route replace "$1" via "$2"; shift 2; done
' sh "$peer" "$addr" "$gw" "$@"
trap - EXIT
`;

export interface Wiring {
  /** The sandbox's main process, as the host sees it. */
  pid: number;
  /** Names the host end of the pair (at most 15 characters). */
  hostInterface: string;
  bridge: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  routes: { destination: string; via: string }[];
}

/** Wires a sandbox's network namespace to the bridge; a sandbox wired before is left as it is. */
export function wireSandbox(w: Wiring): Promise<void> {
  const args = [w.hostInterface, `${w.hostInterface}p`, w.bridge, String(w.pid), `${w.ip}/${w.prefixLength}`, w.gateway];
  for (const r of w.routes) args.push(r.destination, r.via);
  return new Promise((resolve, reject) => {
    execFile("sh", ["-c", SCRIPT, "sh", ...args], { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`wiring ${w.hostInterface} into the namespace of pid ${w.pid}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}
