/** createPool wires the web-session probe: `pool.probe()` checks ChatGPT sessions too. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { startSimulator } from "../../src/sim/index.ts";

it("probes web sessions through /api/auth/session without any chat client in the process", async () => {
  const dead = "sess-expired-0000000000000000000001";
  const alive = "sess-alive-000000000000000000000002";
  const sim = await startSimulator({ sessions: { [dead]: "expired", [alive]: "ok" } });
  const pool = await createPool({ upstream: `${sim.url}/v1`, health: false });
  try {
    await pool.add([{ kind: "web", secret: dead, baseURL: sim.url }, { kind: "web", secret: alive, baseURL: sim.url }]);
    const results = await pool.probe();
    assert.equal(results.length, 2, "both sessions were probed");
    assert.equal(pool.get(dead)!.state, "retired");
    assert.equal(pool.get(alive)!.state, "active");
    const [ev] = await pool.events({ credentialId: pool.get(dead)!.id, kind: "state" });
    assert.equal(ev?.to, "retired");
  } finally {
    await pool.close();
    await sim.close();
  }
});
