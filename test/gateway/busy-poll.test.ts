/** The busy-poll window: adapts to the gaps between requests, polls the loop for it after traffic and then stops, configured by flag, env or file. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { resolveGatewayConfig } from "../../src/config/gateway-config.ts";
import { BusyPoll, DEFAULT_BUSY_POLL_US, GROW_START_US, nextWindowUs } from "../../src/gateway/http/busy-poll.ts";
import { chat, harness, key } from "./helpers.ts";

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

describe("nextWindowUs", () => {
  it("keeps a window that caught the gap, doubles one too short for a gap within the most, halves one for a gap past it", () => {
    const max = 500;
    assert.equal(nextWindowUs(0, 50, max), GROW_START_US, "the first short gap opens the window");
    assert.equal(nextWindowUs(40, 60, max), 80);
    assert.equal(nextWindowUs(80, 60, max), 80, "a gap inside the window changes nothing");
    assert.equal(nextWindowUs(320, 400, max), max, "never past the most");
    assert.equal(nextWindowUs(max, 2000, max), 250, "a gap no window would have caught halves it");
    assert.equal(nextWindowUs(15, 2000, max), 0, "below the first window it closes");
    assert.equal(nextWindowUs(0, 2000, max), 0);
  });
});

describe("BusyPoll", () => {
  /** A clock the test moves, in ms as performance.now() counts. */
  const clock = (): { now: () => number; advanceUs: (us: number) => void } => {
    let t = 1000;
    return { now: () => t, advanceUs: (us) => (t += us / 1000) };
  };

  it("learns the gaps between touches: polls once they are short, for its window, and stops after it", async (t) => {
    const c = clock();
    const poll = new BusyPoll(500, c.now);
    poll.touch();
    assert.deepEqual([poll.polling, poll.windowUs], [false, 0], "nothing learned from one touch");
    c.advanceUs(50);
    poll.touch();
    assert.deepEqual([poll.polling, poll.windowUs], [true, GROW_START_US]);
    // The loop keeps turning while the clock stands inside the window: timers still fire, it doesn't block.
    t.after(() => poll.stop()); // a failed assertion leaves no loop polling forever
    await sleep(5);
    // A starved machine may run the expired timer before the loop's first polled turn (timers come
    // first in a turn): the turn is then waited for, not assumed.
    await until(() => poll.turns > 1, 2000, "polled turns");
    c.advanceUs(GROW_START_US + 1);
    await until(() => !poll.polling, 2000, "polling to stop after its window");
    const after = poll.turns;
    await sleep(20);
    assert.equal(poll.turns, after, "it turned after its window");
    // Gaps of 300 µs: the window doubles until it holds them, then stays; a longer one takes it to its most.
    for (let i = 0; i < 10; i++) {
      c.advanceUs(300);
      poll.touch();
    }
    assert.equal(poll.windowUs, 320);
    c.advanceUs(450);
    poll.touch();
    assert.equal(poll.windowUs, 500);
    // Gaps of 20 ms (an upstream that takes its time): the window closes.
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      c.advanceUs(20_000);
      poll.touch();
      seen.push(poll.windowUs);
    }
    assert.deepEqual(seen, [250, 125, 62.5, 31.25, 15.625, 0]);
    c.advanceUs(20_000);
    await until(() => !poll.polling, 2000, "polling to stop");
    poll.touch();
    assert.equal(poll.polling, false, "a closed window polls no more");
  });

  it("does nothing when off, and stops at its next turn once stopped", async (t) => {
    const c = clock();
    const off = new BusyPoll(0, c.now);
    for (let i = 0; i < 5; i++) {
      c.advanceUs(20);
      off.touch();
    }
    await sleep(5);
    assert.deepEqual([off.polling, off.turns, off.windowUs], [false, 0, 0]);
    const on = new BusyPoll(10_000, c.now);
    t.after(() => on.stop());
    on.touch();
    c.advanceUs(20);
    on.touch();
    assert.equal(on.polling, true);
    await sleep(2);
    on.stop();
    await until(() => !on.polling, 1000, "polling to stop");
    c.advanceUs(20);
    on.touch();
    assert.equal(on.polling, false);
  });
});

describe("the gateway's busy-poll window", () => {
  it("is on by default, and set by flag, environment or config file with a clear error for a bad value", () => {
    assert.equal(resolveGatewayConfig({}, {}).busyPollUs, DEFAULT_BUSY_POLL_US);
    assert.equal(resolveGatewayConfig({}, { KEYPOOL_BUSY_POLL_US: "0" }).busyPollUs, 0);
    assert.equal(resolveGatewayConfig({ busyPoll: "300" }, { KEYPOOL_BUSY_POLL_US: "100" }).busyPollUs, 300);
    assert.equal(resolveGatewayConfig({}, { KEYPOOL_BUSY_POLL_US: "250" }).busyPollUs, 250);
    assert.throws(() => resolveGatewayConfig({}, { KEYPOOL_BUSY_POLL_US: "soon" }), /busyPollUs: must be an integer from 0 to 10000, got "soon" \(from env KEYPOOL_BUSY_POLL_US\)/);
    assert.throws(() => resolveGatewayConfig({ busyPoll: "20000" }, {}), /busyPollUs: .*\(from flag --busy-poll\)/);
  });

  it("polls after requests that come close together when on, not at all when off, and stops at close", async () => {
    // 10 ms at most: requests through the test's simulator take a few ms, a starved machine's more.
    for (const busyPollUs of [0, 10_000]) {
      const h = await harness({ [key("busypoll")]: "ok" }, { gateway: { busyPollUs } });
      try {
        const client = h.client();
        for (let i = 0; i < 12; i++) await chat(client);
        const poll = h.gw.context.busyPoll;
        if (busyPollUs === 0) assert.deepEqual([poll.turns, poll.windowUs], [0, 0]);
        else assert.ok(poll.turns > 0 && poll.windowUs > 0, `no turn polled after requests (window ${poll.windowUs} µs)`);
        await until(() => !poll.polling, 2000, "polling to stop after the window");
      } finally {
        await h.close();
      }
      assert.equal(h.gw.context.busyPoll.polling, false);
    }
  });
});
