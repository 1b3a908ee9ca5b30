import { runComponent } from "@kubelab/service-kit";
import { loadDnsConfig } from "./config.js";
import { startDns } from "./dnsServer.js";

await runComponent("dns", (log) => startDns(loadDnsConfig(), log));
