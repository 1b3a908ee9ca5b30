export { startScheduler } from "./scheduler.js";
export type { RunningScheduler, SchedulerPlugins } from "./scheduler.js";
export { loadSchedulerConfig, defaultSchedulerConfig, schedulerOptions } from "./config.js";
export type { SchedulerConfig } from "./config.js";
export { findNode, fitErrorMessage } from "./framework/findNode.js";
export type { FilterPlugin, ScorePlugin, NodeInfo, FilterResult } from "./framework/types.js";
export { CycleState } from "./framework/types.js";
