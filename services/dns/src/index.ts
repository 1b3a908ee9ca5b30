export { startDns } from "./dnsServer.js";
export type { RunningDns } from "./dnsServer.js";
export { resolve } from "./records.js";
export { loadDnsConfig, defaultDnsConfig, dnsOptions } from "./config.js";
export type { DnsConfig } from "./config.js";
