import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { maskSecret } from "../../src/util/mask.ts";

it("shows the scheme and the last four characters, never more", () => {
  assert.equal(maskSecret("sk-abcdefghijklmnopqrstuvwxyz1234"), "sk-…1234");
  assert.equal(maskSecret("sk-proj-abcdefghijklmnopqrstu9876"), "sk-proj-…9876");
  assert.equal(maskSecret("kp-QZExz-Ab3dEf6hIj9kLm0pQr_u78"), "kp-…_u78", "a random token's letters and dash are not a prefix");
  assert.equal(maskSecret("kp-abc-Ab3dEf6hIj9kLm0pQr_u78"), "kp-…_u78", "not even lowercase ones");
  assert.equal(maskSecret("sk-relay-00000000000000000001"), "sk-relay-…0001", "an sk- key's scheme word stays readable");
  assert.equal(maskSecret("sess-abcdef-ghijklmnopqrstu"), "sess-…rstu");
  assert.equal(maskSecret("eyJhbGciOiJIUzI1NiJ9.payload.signature"), "…ture");
  assert.equal(maskSecret("short"), "…");
});

it("reveals at most the scheme prefix and four characters of any secret, and nothing of a kp- token's body (property)", () => {
  fc.assert(
    fc.property(fc.base64String({ minLength: 20, maxLength: 60 }), (body) => {
      const token = `kp-${body.replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "")}xxxx`;
      assert.equal(maskSecret(token), "kp-…xxxx");
    }),
    { numRuns: 2000 },
  );

  fc.assert(
    fc.property(fc.string({ minLength: 12, maxLength: 80 }), (s) => {
      const masked = maskSecret(s);
      const [prefix, tail] = masked.split("…");
      assert.equal(tail, s.slice(-4));
      assert.ok(prefix!.length <= 14, `prefix ${prefix}`);
      assert.ok(s.startsWith(prefix!));
    }),
    { numRuns: 2000 },
  );
});
