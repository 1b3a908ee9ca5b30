import { runComponent } from "@kubelab/service-kit";
import { loadSchedulerConfig } from "./config.js";
import { startScheduler } from "./scheduler.js";

await runComponent("scheduler", (log) => startScheduler(loadSchedulerConfig(), log));
