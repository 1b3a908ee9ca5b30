export { ChaosError } from "./errors.js";
export { parseTarget, seededRandom, chooseSeeded, type Target } from "./targets.js";
export {
  parseScenario,
  planSchedule,
  netemSettings,
  durationMs,
  isSeed,
  MAX_SEED,
  PEER_GROUPS,
  ACTIONS,
  type Scenario,
  type PlannedStep,
} from "./schedule.js";
export { LabDocker, NETUTIL_IMAGE, type Component } from "./labDocker.js";
export { LabNodes, nextNodeName, proxyNameOf, ADDED_NODE_LABEL } from "./labNodes.js";
export { EtcdMembers, etcdLeader } from "./etcdMembers.js";
export { resolveTarget, peersOf, LEADER_LEASES, componentsByHostname, holderHostname } from "./resolveTarget.js";
export { FaultLedger, ledgerPath, inject, undo, healAll, describeFault, type FaultAction, type LedgerEntry } from "./faults.js";
export { runScenario, type RunOptions } from "./runner.js";
export { summaryText, reportHtml, timelineSvg, type ChaosReport } from "./report.js";
export { ApiWriter, ProbeWatcher, HttpProbe, PROBE_NAMESPACE } from "./probe.js";
export * from "./invariants.js";
