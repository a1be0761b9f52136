/** Raw HTTP for the bad-input scenarios: bytes on a socket, and what a clear OpenAI-shaped refusal looks like. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** Sends raw bytes on a fresh connection; resolves with the first answer (or "" when the server closed without one). */
export function raw(port: number, data: string | Buffer | ((socket: Socket) => void), waitMs = 4000): Promise<Answer & { ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect(port, "127.0.0.1");
    let out = "";
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const [head = "", ...rest] = out.split("\r\n\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.split("\r\n").slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status, body: rest.join("\r\n\r\n"), headers, ms: performance.now() - t0 });
    };
    const timer = setTimeout(done, waitMs);
    socket.on("data", (d) => {
      out += d.toString();
      if (/\r\n\r\n/.test(out)) {
        const m = /content-length: (\d+)/i.exec(out);
        if (m !== null && Buffer.byteLength(out.split("\r\n\r\n").slice(1).join("\r\n\r\n")) >= Number(m[1])) done();
      }
    });
    socket.on("close", done);
    socket.on("error", () => undefined);
    if (typeof data === "function") data(socket);
    else socket.write(data);
  });
}

/** A clear OpenAI-shaped 4xx: status in range, JSON error with a message, a type and a code. */
export function assertClear(a: Answer, what: string, status?: number | readonly number[], code?: string): void {
  const want = status === undefined ? null : Array.isArray(status) ? status : [status];
  assert.ok(a.status >= 400 && a.status < 500, `${what}: a 4xx, got ${a.status} ${a.body.slice(0, 200)}`);
  if (want !== null) assert.ok(want.includes(a.status), `${what}: ${want.join("/")} expected, got ${a.status} ${a.body.slice(0, 200)}`);
  let parsed: { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } };
  try {
    parsed = JSON.parse(a.body) as typeof parsed;
  } catch {
    assert.fail(`${what}: the body is not JSON: ${a.body.slice(0, 200)}`);
  }
  const e = parsed.error;
  assert.ok(e !== undefined, `${what}: an error object`);
  assert.ok(typeof e.message === "string" && e.message.length > 0, `${what}: a message`);
  assert.ok(typeof e.type === "string" && typeof e.code === "string", `${what}: a type and a code`);
  assert.ok(e.param === null || typeof e.param === "string", `${what}: param null or a field name`);
  if (code !== undefined) assert.equal(e.code, code, `${what}: ${a.body.slice(0, 200)}`);
}

export const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN) / 1024;
