import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KeypoolError } from "../../src/errors/index.ts";
import { loadScenario, parseScenario, startSimulator, toKeyBehaviour, toSessionBehaviour } from "../../src/sim/index.ts";
import { splitAssignment } from "../../src/sim/spec/assignment.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(KeypoolError.is(err), `not a keypool error: ${String(err)}`);
    assert.equal(err.code, "KP_INVALID_INPUT");
    return err.message;
  }
  assert.fail("expected an error");
}

describe("behaviour specs", () => {
  it("parses the flag form with defaults filled in", () => {
    const rl = toKeyBehaviour("rate-limited:rpm=3,tpm=20000");
    assert.equal(rl.name, "rate-limited");
    assert.equal(rl.rpm, 3);
    assert.equal(rl.tpm, 20000);
    assert.equal(rl.windowMs, 60_000);
    assert.equal(toKeyBehaviour("rate-limited").rpm, 3);
    assert.equal(toKeyBehaviour("flaky:rate=0.3").rate, 0.3);
    assert.equal(toKeyBehaviour("slow:ms=200").chunkMs, 20);
    assert.equal(toKeyBehaviour("exhausts").requests, 5);
    assert.equal(toKeyBehaviour("exhausts:tokens=1000").requests, null);
    assert.deepEqual(toKeyBehaviour("reset:after=chunks:2").cut, { at: "chunks", n: 2 });
    assert.deepEqual(toKeyBehaviour("hang:after=headers").cut, { at: "headers" });
    assert.equal(toKeyBehaviour("billing-unsupported:mode=empty").billingMode, "empty");
    assert.deepEqual([...(toKeyBehaviour("ok:models=gpt-4o-mini|gpt-4o").models ?? [])], ["gpt-4o-mini", "gpt-4o"]);
    const quota = toKeyBehaviour("quota:limit_usd=7");
    assert.equal(quota.usedUsd, 7, "a quota key starts at its limit");
    assert.equal(toKeyBehaviour("ok:limit_usd=5,used_usd=1").usedUsd, 1);
    assert.equal(toSessionBehaviour("short-lived:ms=5000").tokenTtlMs, 5000);
    assert.equal(toSessionBehaviour("cf-required:clearance=abc,ua=Mozilla%2C5.0").ua, "Mozilla,5.0");
  });

  it("the object form gives the same result and the flag form round-trips", () => {
    const a = toKeyBehaviour({ behaviour: "flaky", rate: 0.25, status: [500, 503] });
    const b = toKeyBehaviour("flaky:rate=0.25,status=500|503");
    assert.equal(a.text, b.text);
    assert.equal(toKeyBehaviour(a.text).text, a.text);
  });

  it("errors name the bad field and what is wrong", () => {
    assert.match(message(() => toKeyBehaviour("flaky:rate=2")), /rate: must be at most 1/);
    assert.match(message(() => toKeyBehaviour("flaky:rate=lots")), /rate: must be a number/);
    assert.match(message(() => toKeyBehaviour("slow:rpm=1.5")), /rpm: must be an integer/);
    assert.match(message(() => toKeyBehaviour("nope")), /unknown behaviour "nope"/);
    assert.match(message(() => toKeyBehaviour("flaky:ms=3")), /unknown parameter "ms" for flaky \(accepts: rate, status/);
    assert.match(message(() => toKeyBehaviour("reset:after=soon")), /after: must be request, headers or chunks:N/);
    assert.match(message(() => toKeyBehaviour("flaky:rate")), /"rate" is not param=value/);
    assert.match(message(() => toKeyBehaviour("flaky:rate=0.1,rate=0.2")), /given twice/);
    assert.match(message(() => toKeyBehaviour({ behaviour: "ok", colour: "red" } as never)), /colour: unknown parameter/);
    assert.match(message(() => toKeyBehaviour({ behaviour: "ok", rate: 0.5 } as never)), /rate: is not a parameter of ok/);
    assert.match(message(() => toKeyBehaviour({ behaviour: "flaky", status: [404] } as never)), /status\.0: must be 500, 502 or 503/);
    assert.match(message(() => toSessionBehaviour("rotate:ms=4")), /unknown parameter "ms" for rotate/);
    assert.match(message(() => toKeyBehaviour("sleepy", '--key "sk-a=sleepy"')), /^--key "sk-a=sleepy": unknown behaviour "sleepy"/);
  });

  it("KEY=BEHAVIOUR splits at the first =", () => {
    assert.deepEqual(splitAssignment("--key", "sk-a=rate-limited:rpm=3"), { name: "sk-a", spec: "rate-limited:rpm=3" });
    assert.match(message(() => splitAssignment("--key", "sk-secret-00000000abcd")), /--key "sk-secret-…abcd": expected NAME=BEHAVIOUR/);
    assert.match(message(() => splitAssignment("--key", "=ok")), /expected NAME=BEHAVIOUR/);
  });
});

describe("scenario files", () => {
  const scenario = {
    description: "one of each",
    unknownKeys: "invalid",
    keys: { "sk-scen-00000000000000001": "rate-limited:rpm=3", "sk-scen-00000000000000002": { behaviour: "flaky", rate: 0.3 } },
    sessions: { "sess-scen-000000001": "rotate" },
  };

  it("validates and starts a simulator", async (t) => {
    const parsed = parseScenario(scenario);
    const sim = await startSimulator({ scenario: parsed, keys: { "sk-scen-00000000000000002": "ok" } });
    t.after(() => sim.close());
    assert.deepEqual(
      sim.keys().map((k) => [k.key, k.behaviour]),
      [
        ["sk-scen-00000000000000001", "rate-limited:rpm=3"],
        ["sk-scen-00000000000000002", "ok"],
      ],
    );
    assert.equal(sim.sessions()[0]?.behaviour, "rotate");
  });

  it("names the bad field", () => {
    assert.match(message(() => parseScenario({ ...scenario, unknownKeys: "maybe" })), /unknownKeys: must be invalid or ok/);
    assert.match(message(() => parseScenario({ ...scenario, extra: 1 })), /extra: unknown field/);
    assert.match(message(() => parseScenario({ keys: { "sk-scenario-000000000009": "flaky:rate=9" } })), /keys\["sk-scenario-…0009"\]: rate: must be at most 1/);
    assert.match(message(() => parseScenario({ keys: { "sk-scenario-000000000003": 3 } })), /keys\.sk-scenario-…0003: must be a behaviour string or object/);
    assert.match(message(() => parseScenario({ sessions: { s: { behaviour: "cf-required", clearance: "" } } })), /clearance: must not be empty/);
  });

  it("loads from a file, with clear errors for unreadable or broken JSON", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "keypool-sim-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const good = join(dir, "good.json");
    await writeFile(good, JSON.stringify(scenario));
    assert.equal((await loadScenario(good)).keys?.["sk-scen-00000000000000001"], "rate-limited:rpm=3");
    const broken = join(dir, "broken.json");
    await writeFile(broken, "{ nope");
    await assert.rejects(loadScenario(broken), /not valid JSON/);
    await assert.rejects(loadScenario(join(dir, "missing.json")), /cannot read/);
  });
});
