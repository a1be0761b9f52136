import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, "bin", "keypool.ts");
// The pinned Node 24 from node_modules/.bin, as npm scripts use it.
const NODE = join(ROOT, "node_modules", ".bin", "node");

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 15_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("keypool sim (CLI)", () => {
  it("--help lists every behaviour with its parameters and warns about /_sim/", () => {
    const r = run(["sim", "--help"]);
    assert.equal(r.status, 0, r.stderr);
    for (const name of ["ok", "invalid", "deactivated", "quota", "exhausts", "rate-limited", "flaky", "slow", "hang", "reset", "expired", "billing-unsupported", "reseller-401", "legacy-quota", "rotate", "short-lived", "cf-required"]) {
      assert.match(r.stdout, new RegExp(`^\\s+${name}\\s`, "m"), `missing ${name}`);
    }
    assert.match(r.stdout, /rpm=/);
    assert.match(r.stdout, /--port <port>.*\(default: "8788"\)/);
    assert.match(r.stdout, /NO authentication/);
  });

  it("a bad --key value names the flag and the problem", () => {
    const r = run(["sim", "--key", "sk-cli-0000000000001234=flaky:rate=2"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--key "sk-cli-…1234=flaky:rate=2": rate: must be at most 1/);
    assert.ok(!r.stderr.includes("0000000000001234"), "the key is masked");
    assert.equal(r.stdout, "", "nothing starts");
    const port = run(["sim", "--port", "99999", "--session", "tok=rotate"]);
    assert.equal(port.status, 1);
    assert.match(port.stderr, /--port "99999": must be an integer between 0 and 65535/);
  });

  it("serves, prints the URL and masked keys, and stops on SIGTERM", async (t) => {
    const secret = "sk-cli-secret-0000000000000000abcd";
    const child = spawn(NODE, [BIN, "sim", "--port", "0", "--key", `${secret}=rate-limited:rpm=3`], { cwd: ROOT });
    t.after(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: string) => {
        out += chunk;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m && out.includes("Ctrl+C")) resolve(m[1]!);
      });
      child.once("exit", () => reject(new Error(`exited early: ${out}`)));
    });
    assert.ok(!out.includes(secret), "the key is masked");
    assert.match(out, /sk-cli-…abcd\s+rate-limited:rpm=3/);
    const res = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(res.status, 200);
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
    assert.match(out, /stopped/);
  });
});
