import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { StoreError } from "./store-error.ts";

const PREFIX = "enc:v1:";

/**
 * Encrypts secrets at rest (AES-256-GCM) with a key from `KEYPOOL_SECRET_KEY`.
 * A store written with a key refuses to hand out its secrets without it.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(stored: string): string;
}

/** Stores plain text; reading an encrypted value is an error naming the missing key. */
export const plainBox: SecretBox = {
  seal: (plain) => plain,
  open(stored) {
    if (stored.startsWith(PREFIX)) {
      throw new StoreError("this store holds encrypted secrets: set KEYPOOL_SECRET_KEY to the key it was written with");
    }
    return stored;
  },
};

export function createSecretBox(passphrase: string | undefined): SecretBox {
  if (passphrase === undefined || passphrase === "") return plainBox;
  // A passphrase of any length becomes a 256-bit key; the store never sees it.
  const key = createHash("sha256").update(`keypool-secret-box:${passphrase}`).digest();
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return `${PREFIX}${iv.toString("base64url")}.${body.toString("base64url")}.${cipher.getAuthTag().toString("base64url")}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored; // written before encryption was turned on
      const [iv, body, tag] = stored.slice(PREFIX.length).split(".");
      if (iv === undefined || body === undefined || tag === undefined) throw new StoreError("malformed encrypted secret in store");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
        decipher.setAuthTag(Buffer.from(tag, "base64url"));
        return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
      } catch (err) {
        throw new StoreError("cannot decrypt the store's secrets: KEYPOOL_SECRET_KEY differs from the one it was written with", err);
      }
    },
  };
}
