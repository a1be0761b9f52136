/** The busy-poll window: off by default, polls the loop for its window after traffic and then stops, configured by flag, env or file. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { resolveGatewayConfig } from "../../src/config/gateway-config.ts";
import { BusyPoll } from "../../src/gateway/http/busy-poll.ts";
import { chat, harness, key } from "./helpers.ts";

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

describe("BusyPoll", () => {
  it("keeps the loop turning for its window after a touch, a touch within it extends it, and then it stops", async () => {
    // Windows far longer than the gateway's, so a starved test machine still sees the loop turn within one.
    const poll = new BusyPoll(100_000);
    poll.touch();
    assert.equal(poll.polling, true);
    const t0 = performance.now();
    // Timers still fire while it polls: the loop turns, it doesn't block.
    await sleep(8);
    // A starved machine may run the expired timer before the loop's first polled turn (timers come
    // first in a turn): the turn is then waited for, not assumed.
    await until(() => poll.turns > 0, 2000, "a polled turn");
    poll.touch();
    await until(() => !poll.polling, 2000, "polling to stop");
    assert.ok(performance.now() - t0 >= 108, "the second touch extended the window");
    const after = poll.turns;
    await sleep(20);
    assert.equal(poll.turns, after, "it turned after its window");
  });

  it("does nothing when off, and stops at its next turn once stopped", async () => {
    const off = new BusyPoll(0);
    off.touch();
    await sleep(5);
    assert.deepEqual([off.polling, off.turns], [false, 0]);
    const on = new BusyPoll(10_000_000);
    on.touch();
    await sleep(2);
    on.stop();
    await until(() => !on.polling, 1000, "polling to stop");
    on.touch();
    assert.equal(on.polling, false);
  });
});

describe("the gateway's busy-poll window", () => {
  it("is off by default, and set by flag, environment or config file with a clear error for a bad value", () => {
    assert.equal(resolveGatewayConfig({}, {}).busyPollUs, 0);
    assert.equal(resolveGatewayConfig({ busyPoll: "300" }, { KEYPOOL_BUSY_POLL_US: "100" }).busyPollUs, 300);
    assert.equal(resolveGatewayConfig({}, { KEYPOOL_BUSY_POLL_US: "250" }).busyPollUs, 250);
    assert.throws(() => resolveGatewayConfig({}, { KEYPOOL_BUSY_POLL_US: "soon" }), /busyPollUs: must be an integer from 0 to 10000, got "soon" \(from env KEYPOOL_BUSY_POLL_US\)/);
    assert.throws(() => resolveGatewayConfig({ busyPoll: "20000" }, {}), /busyPollUs: .*\(from flag --busy-poll\)/);
  });

  it("polls after each request when set, not at all when not, and stops at close", async () => {
    for (const busyPollUs of [0, 10_000]) {
      const h = await harness({ [key("busypoll")]: "ok" }, { gateway: { busyPollUs } });
      try {
        await chat(h.client());
        const poll = h.gw.context.busyPoll;
        if (busyPollUs === 0) assert.equal(poll.turns, 0);
        else assert.ok(poll.turns > 0, "no turn polled after a request");
        await until(() => !poll.polling, 2000, "polling to stop after the window");
      } finally {
        await h.close();
      }
      assert.equal(h.gw.context.busyPoll.polling, false);
    }
  });
});
