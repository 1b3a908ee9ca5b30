import { describe, expect, it } from "vitest";
import { AddressPool } from "./addressPool.js";

describe("AddressPool", () => {
  it("gives each Service the lowest free address, never the network or the last one, and the same again", () => {
    const pool = new AddressPool("127.0.100.0/30");
    expect(pool.allocate("default/a", "")).toEqual({ ip: "127.0.100.1" });
    expect(pool.allocate("default/b", "")).toEqual({ ip: "127.0.100.2" });
    expect(pool.allocate("default/a", "")).toEqual({ ip: "127.0.100.1" });
    expect(pool.allocate("default/c", "")).toEqual({ error: "no free address left in the load balancers' range 127.0.100.0/30" });
  });

  it("frees an address on release, for the next Service", () => {
    const pool = new AddressPool("127.0.100.0/30");
    pool.allocate("default/a", "");
    pool.allocate("default/b", "");
    pool.release("default/a");
    expect(pool.addressOf("default/a")).toBeUndefined();
    expect(pool.allocate("default/c", "")).toEqual({ ip: "127.0.100.1" });
  });

  it("keeps the address a Service's status shows (a restart, a new leader), when free and in range", () => {
    const pool = new AddressPool("127.0.100.0/24");
    expect(pool.allocate("default/a", "", ["127.0.100.7"])).toEqual({ ip: "127.0.100.7" });
    expect(pool.allocate("default/b", "", ["127.0.100.7"])).toEqual({ ip: "127.0.100.1" });
    expect(pool.allocate("default/c", "", ["10.0.0.1"])).toEqual({ ip: "127.0.100.2" });
  });

  it("gives spec.loadBalancerIP when in range and free, and says why not otherwise", () => {
    const pool = new AddressPool("127.0.100.0/24");
    expect(pool.allocate("default/a", "127.0.100.50")).toEqual({ ip: "127.0.100.50" });
    expect(pool.allocate("default/b", "127.0.100.50")).toEqual({
      error: "requested loadBalancerIP 127.0.100.50 is already allocated to default/a",
    });
    expect(pool.allocate("default/b", "127.0.101.1")).toEqual({
      error: "requested loadBalancerIP 127.0.101.1 is not in the load balancers' range 127.0.100.0/24",
    });
    // A changed request moves the Service, freeing its old address.
    expect(pool.allocate("default/a", "127.0.100.51")).toEqual({ ip: "127.0.100.51" });
    expect(pool.allocate("default/b", "127.0.100.50")).toEqual({ ip: "127.0.100.50" });
  });
});
