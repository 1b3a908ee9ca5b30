import { runComponent } from "@kubelab/service-kit";
import { loadApiServerConfig } from "./config.js";
import { startApiServer } from "./apiServer.js";

await runComponent("apiserver", (log) => startApiServer(loadApiServerConfig(), log));
