import { Command, Option } from "commander";
import { KUBELAB_VERSION } from "@kubelab/api";
import { serverAddress, type GlobalOptions } from "./context.js";
import { errorLine } from "./errors.js";
import { apply } from "./commands/apply.js";
import { get, type GetOptions } from "./commands/get.js";
import { describe } from "./commands/describe.js";
import { del, type DeleteOptions } from "./commands/delete.js";
import { version } from "./commands/version.js";
import { logs, type LogsOptions } from "./commands/logs.js";
import { exec, type ExecOptions } from "./commands/exec.js";
import { portForward } from "./commands/portForward.js";
import { rolloutHistory, rolloutPatch, rolloutStatus, rolloutUndo } from "./commands/rollout.js";
import { scale, setImage } from "./commands/scale.js";
import { autoscale, type AutoscaleOptions } from "./commands/autoscale.js";
import { createJob, type CreateJobOptions } from "./commands/createJob.js";
import { topNodes, topPods, type TopOptions } from "./commands/top.js";
import { nodeAdd, nodeRemove, type NodeOptions } from "./commands/node.js";
import { cordon } from "./commands/cordon.js";
import {
  chaosFault,
  chaosHeal,
  chaosNetem,
  chaosPartition,
  chaosRecover,
  chaosRun,
  chaosStatus,
  type ChaosOptions,
} from "./commands/chaos.js";

const program = new Command("kubelab")
  .description("kubelab's command line, kubectl's way")
  .version(KUBELAB_VERSION, "--client-version", "print the client version")
  .option("-s, --server <address>", "API server host:port (default: $KUBELAB_SERVER or 127.0.0.1:6443)")
  .option("-n, --namespace <namespace>", "namespace", "default")
  .showHelpAfterError();

const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();
const collect = (v: string, prev: string[] = []) => [...prev, v];

program
  .command("apply")
  .description("create or update objects from YAML files, directories or stdin (-f -)")
  .requiredOption("-f, --filename <path>", "file, directory or - (repeatable)", collect)
  .action((o: { filename: string[] }, cmd: Command) => apply(o.filename, globals(cmd)));

program
  .command("get")
  .description("list objects, or get some by name")
  .argument("<kind>", "resource type(s), e.g. pods or po,ns")
  .argument("[names...]")
  .addOption(new Option("-o, --output <format>", "yaml|json|wide|name"))
  .option("-l, --selector <selector>", "label selector, e.g. app=web,tier!=db")
  .option("--field-selector <selector>", "field selector, e.g. status.phase=Running")
  .option("-A, --all-namespaces", "list across all namespaces")
  .option("-w, --watch", "after listing, watch for changes")
  .option("--no-headers", "omit table headers")
  .action((kind: string, names: string[], _o: unknown, cmd: Command) => get(kind, names, globals(cmd) as GetOptions));

program
  .command("describe")
  .description("show an object in detail, with its events")
  .argument("<kind>")
  .argument("[names...]")
  .action((kind: string, names: string[], _o: unknown, cmd: Command) => describe(kind, names, globals(cmd)));

program
  .command("delete")
  .description("delete objects by name, by selector, or from files")
  .argument("[kind]")
  .argument("[names...]")
  .option("-f, --filename <path>", "file, directory or - (repeatable)", collect)
  .option("-l, --selector <selector>", "label selector")
  .option("--grace-period <seconds>", "seconds for graceful termination (0: at once)")
  .option("--cascade <policy>", "background (default), foreground or orphan: what happens to dependents")
  .action((kind: string | undefined, names: string[], _o: unknown, cmd: Command) => del(kind, names, globals(cmd) as DeleteOptions));

program
  .command("logs")
  .description("print a container's log, streamed from its node's kubelet")
  .argument("<pod>")
  .option("-c, --container <name>", "container (needed when the pod has several)")
  .option("-f, --follow", "keep streaming as the container writes")
  .option("-p, --previous", "the log of the previous, terminated instance of the container")
  .option("--tail <lines>", "only the last N lines (-1: all)")
  .option("--timestamps", "prefix each line with its time")
  .action((pod: string, _o: unknown, cmd: Command) => logs(pod, globals(cmd) as LogsOptions));

program
  .command("exec")
  .description("run a command in a container of a pod")
  .argument("<pod>")
  .argument("<command...>", "after --: the command and its arguments")
  .option("-c, --container <name>", "container (default: the pod's only one)")
  .option("-i, --stdin", "pass this terminal's stdin to the command")
  .option("-t, --tty", "stdin is a TTY (with -i)")
  .action((pod: string, command: string[], _o: unknown, cmd: Command) => exec(pod, command, globals(cmd) as ExecOptions));

program
  .command("port-forward")
  .description("forward local ports to a pod's (through the API server and its kubelet)")
  .argument("<target>", "pod NAME, pod/NAME, svc/NAME or deployment/NAME")
  .argument("<ports...>", "[LOCAL:]REMOTE, e.g. 8080 or 9000:80 or :80")
  .option("--address <address>", "the local address to listen on", "127.0.0.1")
  .action((target: string, ports: string[], _o: unknown, cmd: Command) =>
    portForward(target, ports, globals(cmd) as GlobalOptions & { address?: string }),
  );

const rollout = program.command("rollout").description("manage the rollout of a Deployment");
rollout
  .command("status")
  .description("watch a rollout until it finishes; non-zero exit if it fails")
  .argument("<target...>", "deployment/NAME or deployment NAME")
  .option("-w, --watch <bool>", "watch until done (default true)")
  .action((args: string[], o: { watch?: string }, cmd: Command) => rolloutStatus(args, { ...globals(cmd), watch: o.watch !== "false" }));
rollout
  .command("history")
  .description("list a Deployment's revisions")
  .argument("<target...>")
  .option("--revision <n>", "show the pod template of one revision")
  .action((args: string[], _o: unknown, cmd: Command) => rolloutHistory(args, globals(cmd) as GlobalOptions & { revision?: string }));
rollout
  .command("undo")
  .description("roll back to the previous revision, or to --to-revision")
  .argument("<target...>")
  .option("--to-revision <n>", "the revision to roll back to (0: the previous)")
  .action((args: string[], _o: unknown, cmd: Command) => rolloutUndo(args, globals(cmd) as GlobalOptions & { toRevision?: string }));
for (const what of ["pause", "resume", "restart"] as const) {
  rollout
    .command(what)
    .description(`${what} a Deployment's rollout`)
    .argument("<target...>")
    .action((args: string[], _o: unknown, cmd: Command) => rolloutPatch(args, globals(cmd), what));
}

program
  .command("scale")
  .description("set the replicas of a Deployment or ReplicaSet")
  .argument("<target...>", "deployment/NAME or deployment NAME")
  .requiredOption("--replicas <count>", "the new number of replicas")
  .action((args: string[], _o: unknown, cmd: Command) => scale(args, globals(cmd) as GlobalOptions & { replicas?: string }));

program
  .command("create")
  .description("create an object of a kind from another (kubectl create's job --from)")
  .command("job")
  .description("create a Job from a CronJob's job template")
  .argument("<name>")
  .requiredOption("--from <source>", "the object to take the job template from: cronjob/NAME")
  .action((name: string, _o: unknown, cmd: Command) => createJob(name, globals(cmd) as CreateJobOptions));

program
  .command("autoscale")
  .description("create a HorizontalPodAutoscaler for a Deployment or ReplicaSet")
  .argument("<target...>", "deployment/NAME or deployment NAME")
  .option("--min <count>", "the lower limit of replicas (default 1)")
  .requiredOption("--max <count>", "the upper limit of replicas")
  .option(
    "--cpu-percent <percent>",
    "the target average CPU utilization, as a percentage of the pods' requests (default: the server's, 80)",
  )
  .option("--name <name>", "the HorizontalPodAutoscaler's name (default: the target's)")
  .action((args: string[], _o: unknown, cmd: Command) => autoscale(args, globals(cmd) as AutoscaleOptions));

const top = program.command("top").description("CPU and memory use of nodes and pods, from metrics-server");
top
  .command("node")
  .alias("nodes")
  .alias("no")
  .description("CPU and memory of each node, and their share of its allocatable")
  .argument("[name]")
  .option("-l, --selector <selector>", "label selector")
  .option("--sort-by <resource>", "cpu or memory: largest first")
  .option("--no-headers", "omit the table header")
  .action((name: string | undefined, _o: unknown, cmd: Command) => topNodes(name, globals(cmd) as TopOptions));
top
  .command("pod")
  .alias("pods")
  .alias("po")
  .description("CPU and memory of each pod (or each container)")
  .argument("[name]")
  .option("-A, --all-namespaces", "across all namespaces")
  .option("-l, --selector <selector>", "label selector")
  .option("--containers", "a row per container")
  .option("--sort-by <resource>", "cpu or memory: largest first")
  .option("--no-headers", "omit the table header")
  .action((name: string | undefined, _o: unknown, cmd: Command) => topPods(name, globals(cmd) as TopOptions));

program
  .command("set")
  .description("change a field of objects")
  .command("image")
  .description("change container images of a workload (a new rollout)")
  .argument("<target>", "deployment/NAME")
  .argument("<pairs...>", "CONTAINER=IMAGE (or *=IMAGE for all)")
  .action((target: string, pairs: string[], _o: unknown, cmd: Command) => setImage([target, ...pairs], globals(cmd)));

for (const [verb, unschedulable] of [
  ["cordon", true],
  ["uncordon", false],
] as const) {
  program
    .command(verb)
    .description(unschedulable ? "mark nodes unschedulable (their pods stay)" : "mark nodes schedulable again")
    .argument("<node...>")
    .action((names: string[], _o: unknown, cmd: Command) => cordon(names, unschedulable, globals(cmd)));
}

const node = program
  .command("node")
  .description("add nodes to the running lab, or remove them, as a cloud adds and loses machines")
  .option("--project <name>", "the lab's compose project (default: $KUBELAB_PROJECT, $COMPOSE_PROJECT_NAME or kubelab)");
node
  .command("add")
  .description("add a node (a copy of node-1's container, and its kube-proxy); NAME defaults to the next node-N")
  .argument("[name]")
  .action((name: string | undefined, _o: unknown, cmd: Command) => nodeAdd(name, cmd.optsWithGlobals<NodeOptions>()));
node
  .command("remove")
  .description("remove a node's machine: its containers, its pods' containers and its volumes, at once")
  .argument("<name>")
  .action((name: string, _o: unknown, cmd: Command) => nodeRemove(name, cmd.optsWithGlobals<NodeOptions>()));

const chaos = program
  .command("chaos")
  .description("break the lab on purpose: stop, kill, pause or cut off its components, run fault schedules, and see what the cluster did")
  .option("--project <name>", "the lab's compose project (default: $KUBELAB_PROJECT, $COMPOSE_PROJECT_NAME or kubelab)")
  .option("--seed <n>", "seed for random: targets (the same seed picks the same component)")
  .addHelpText(
    "after",
    `
TARGET is a component by its short name (etcd-0, apiserver-2, scheduler-1, controller-manager-2,
node-3, kube-proxy-1, dns, metrics-server, pod-network), or a role resolved now: leader:etcd, leader:scheduler,
leader:controller-manager, leader:cloud-controller-manager, random:node (random:etcd, random:apiserver... from --seed).
`,
  );
const chaosOpts = (cmd: Command) => cmd.optsWithGlobals<ChaosOptions & Record<string, never>>();
for (const action of ["stop", "kill", "pause"] as const) {
  const c = chaos
    .command(action)
    .description(
      {
        stop: "stop a component gracefully (SIGTERM, then SIGKILL)",
        kill: "kill a component at once (SIGKILL), as a power loss",
        pause: "freeze a component's processes",
      }[action],
    )
    .argument("<target>");
  if (action === "stop") c.option("-t, --time <seconds>", "seconds to wait before SIGKILL (default 10)");
  c.action((target: string, _o: unknown, cmd: Command) => chaosFault(action, target, chaosOpts(cmd)));
}
for (const action of ["start", "unpause", "restart"] as const) {
  const c = chaos
    .command(action)
    .description(
      { start: "start a stopped or killed component", unpause: "unfreeze a paused component", restart: "restart a component" }[action],
    )
    .argument("<target>");
  if (action === "restart") c.option("-t, --time <seconds>", "seconds to wait before SIGKILL (default 10)");
  c.action((target: string, _o: unknown, cmd: Command) => chaosRecover(action, target, chaosOpts(cmd)));
}
chaos
  .command("partition")
  .description("cut a component off every network, or only from the given peers (dropped packets, both ways)")
  .argument("<target>")
  .option("--from <peer>", "a component or group (control-plane, etcd, apiserver, node...); repeatable", collect)
  .action((target: string, _o: unknown, cmd: Command) => chaosPartition(target, chaosOpts(cmd)));
chaos
  .command("netem")
  .description("delay (tc netem) or drop what a component sends")
  .argument("<target>")
  .option("--delay <duration>", "e.g. 200ms")
  .option("--jitter <duration>", "e.g. 50ms (with --delay)")
  .option("--loss <percent>", "e.g. 10%")
  .action((target: string, _o: unknown, cmd: Command) => chaosNetem(target, chaosOpts(cmd)));
chaos
  .command("heal")
  .description("undo the faults kubelab chaos left in place (all, or one component's)")
  .argument("[target]")
  .action((target: string | undefined, _o: unknown, cmd: Command) => chaosHeal(target, chaosOpts(cmd)));
chaos
  .command("status")
  .description("the lab's components, its leaders and the faults in place")
  .action((_o: unknown, cmd: Command) => chaosStatus(chaosOpts(cmd)));
chaos
  .command("run")
  .description("run a fault schedule with a probe and a recorder; report, and exit non-zero if an invariant fails")
  .argument("<file>", "scenario YAML (see examples/chaos)")
  .option("--out <dir>", "where the report goes (default ./chaos-reports)")
  .option("--keep-probe", "leave the probe's namespace in place")
  .action((file: string, _o: unknown, cmd: Command) => chaosRun(file, chaosOpts(cmd)));

program
  .command("version")
  .description("print the client and server versions")
  .action((_o: unknown, cmd: Command) => version(globals(cmd)));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.stderr.write(`${errorLine(e, serverAddress(program.opts<GlobalOptions>()))}\n`);
  process.exitCode = 1;
}
