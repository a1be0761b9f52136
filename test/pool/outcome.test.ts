import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify, isFailover, type ClassifyInput } from "../../src/pool/outcome.ts";
import { parseDuration, parseRateLimit, retryAfterMs } from "../../src/pool/ratelimit-headers.ts";

const h = (o: Record<string, string>) => (n: string) => o[n];
const err = (code: string | null, type: string | null, message = "m") => ({ error: { message, type, param: null, code } });

describe("classify", () => {
  const cases: [string, ClassifyInput, string][] = [
    ["2xx", { status: 200 }, "success"],
    ["invalid key", { status: 401, body: err("invalid_api_key", "invalid_request_error") }, "invalid"],
    ["deactivated", { status: 401, body: err("account_deactivated", "invalid_request_error") }, "invalid"],
    ["old invalid without code", { status: 401, body: err(null, "invalid_request_error", "Incorrect API key provided: sk-abc***wxyz.") }, "invalid"],
    ["quota", { status: 429, body: err("insufficient_quota", "insufficient_quota") }, "quota"],
    ["legacy quota: type only, code null", { status: 429, body: err(null, "insufficient_quota") }, "quota"],
    ["billing not active", { status: 429, body: err("billing_not_active", "invalid_request_error") }, "quota"],
    ["rate limit", { status: 429, body: err("rate_limit_exceeded", "requests") }, "rate_limited"],
    ["bare 429", { status: 429, body: "Too Many Requests" }, "rate_limited"],
    ["request too large", { status: 429, body: err("rate_limit_exceeded", "tokens", "Request too large for gpt-4o on tokens per min (TPM): Limit 10000, Requested 20000.") }, "too_large"],
    ["model not found", { status: 404, body: err("model_not_found", "invalid_request_error") }, "model_missing"],
    ["context too long", { status: 400, body: err("context_length_exceeded", "invalid_request_error") }, "caller_error"],
    ["plain 404", { status: 404, body: err(null, "invalid_request_error") }, "caller_error"],
    ["413", { status: 413, body: "" }, "caller_error"],
    ["bare 401 from a reseller", { status: 401, body: { error: { message: "Unauthorized" } } }, "auth_ambiguous"],
    ["403 region", { status: 403, body: err("unsupported_country_region_territory", "request_forbidden") }, "auth_ambiguous"],
    ["web token expired", { status: 401, body: { detail: { message: "expired", code: "token_expired" } } }, "session_expired"],
    ["500", { status: 500, body: err(null, "server_error") }, "upstream_fault"],
    ["503 html", { status: 503, body: "<html>bad gateway</html>" }, "upstream_fault"],
    ["408", { status: 408, body: "" }, "upstream_fault"],
    ["302 from a relay", { status: 302, body: "" }, "upstream_fault"],
    ["timeout", { transport: "timeout" }, "upstream_fault"],
    ["reset", { transport: "reset" }, "upstream_fault"],
  ];
  for (const [name, input, kind] of cases) {
    it(`${name} → ${kind}`, () => assert.equal(classify(input).kind, kind));
  }

  it("keeps the evidence: status, code, type and a message excerpt", () => {
    const o = classify({ status: 401, body: err("invalid_api_key", "invalid_request_error", "x".repeat(1000)) });
    assert.equal(o.status, 401);
    assert.equal(o.code, "invalid_api_key");
    assert.equal(o.type, "invalid_request_error");
    assert.equal(o.message?.length, 300);
  });

  it("reads the upstream's wait on a rate limit", () => {
    const o = classify({ status: 429, headers: h({ "retry-after-ms": "1500" }), body: err("rate_limit_exceeded", "requests") });
    assert.equal(o.retryAfterMs, 1500);
  });

  it("never fails over caller errors or too-large requests", () => {
    assert.equal(isFailover("caller_error"), false);
    assert.equal(isFailover("too_large"), false);
    assert.equal(isFailover("success"), false);
    assert.equal(isFailover("rate_limited"), true);
    assert.equal(isFailover("upstream_fault"), true);
  });
});

describe("rate-limit headers", () => {
  it("parses Go-style durations", () => {
    assert.equal(parseDuration("1s"), 1000);
    assert.equal(parseDuration("6m0s"), 360_000);
    assert.equal(parseDuration("20ms"), 20);
    assert.equal(parseDuration("1h2m3.5s"), 3_723_500);
    assert.equal(parseDuration("17"), 17_000);
    assert.equal(parseDuration("soon"), null);
    assert.equal(parseDuration("1x"), null);
    assert.equal(parseDuration(""), null);
  });

  it("reads remaining and reset for requests and tokens", () => {
    const info = parseRateLimit(
      h({
        "x-ratelimit-limit-requests": "3",
        "x-ratelimit-remaining-requests": "1",
        "x-ratelimit-reset-requests": "20s",
        "x-ratelimit-limit-tokens": "40000",
        "x-ratelimit-remaining-tokens": "39000",
        "x-ratelimit-reset-tokens": "1.5s",
      }),
    );
    assert.deepEqual(info, { limitRequests: 3, remainingRequests: 1, resetRequestsMs: 20_000, limitTokens: 40_000, remainingTokens: 39_000, resetTokensMs: 1500 });
    assert.equal(parseRateLimit(h({})), null);
  });

  it("prefers retry-after-ms, then retry-after (seconds or date), then the later reset", () => {
    assert.equal(retryAfterMs(h({ "retry-after-ms": "250", "retry-after": "9" })), 250);
    assert.equal(retryAfterMs(h({ "retry-after": "2" })), 2000);
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    assert.equal(retryAfterMs(h({ "retry-after": new Date(now + 5000).toUTCString() }), now), 5000);
    assert.equal(retryAfterMs(h({ "x-ratelimit-reset-requests": "3s", "x-ratelimit-reset-tokens": "8s" })), 8000);
    assert.equal(retryAfterMs(h({})), null);
  });
});
