import { randomBytes } from "node:crypto";
import { toSessionBehaviour, type SessionBehaviour, type SessionSpec } from "../spec/session-behaviour.ts";
import { SessionState } from "./session-state.ts";
import { maskSecret } from "../../util/mask.ts";

interface AccessToken {
  readonly session: SessionState;
  readonly expiresAt: number;
}

const TOKENS_PER_SESSION = 16;

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Sessions by current token and by id, and the access tokens they were given. */
export class SessionRegistry {
  readonly #initial: ReadonlyMap<string, SessionBehaviour>;
  #byId = new Map<string, SessionState>();
  #byToken = new Map<string, SessionState>();
  #access = new Map<string, AccessToken>();
  #issued = new Map<SessionState, string[]>();

  constructor(initial: Record<string, string | SessionSpec>) {
    const parsed = new Map<string, SessionBehaviour>();
    for (const [token, spec] of Object.entries(initial)) parsed.set(token, toSessionBehaviour(spec, `session "${maskSecret(token)}"`));
    this.#initial = parsed;
    this.reset();
  }

  reset(): void {
    this.#byId = new Map();
    this.#byToken = new Map();
    this.#access = new Map();
    this.#issued = new Map();
    for (const [token, behaviour] of this.#initial) this.#add(new SessionState(token, behaviour));
  }

  #add(session: SessionState): SessionState {
    this.#byId.set(session.id, session);
    this.#byToken.set(session.token, session);
    return session;
  }

  /** By current session token (what the cookie carries). */
  byToken(token: string): SessionState | undefined {
    return this.#byToken.get(token);
  }

  /** By id or current token (what control routes accept). */
  find(idOrToken: string): SessionState | undefined {
    return this.#byId.get(idOrToken) ?? this.#byToken.get(idOrToken);
  }

  set(idOrToken: string, behaviour: string | SessionSpec): SessionState {
    const parsed = toSessionBehaviour(behaviour, `session "${maskSecret(idOrToken)}"`);
    const session = this.find(idOrToken);
    if (session) {
      session.behaviour = parsed;
      return session;
    }
    return this.#add(new SessionState(idOrToken, parsed));
  }

  list(): SessionState[] {
    return [...this.#byId.values()];
  }

  /** Gives the session a new token; the old one stops working. */
  rotate(session: SessionState): string {
    this.#byToken.delete(session.token);
    session.token = `${session.id.slice(0, 16)}.rot${session.rotations + 1}.${randomBytes(12).toString("base64url")}`;
    session.rotations += 1;
    this.#byToken.set(session.token, session);
    return session.token;
  }

  /** A JWT-shaped access token (its `exp` is real) valid for the session's token lifetime. */
  issueAccessToken(session: SessionState, now = Date.now()): { token: string; expiresAt: number } {
    const expiresAt = now + session.behaviour.tokenTtlMs;
    const payload = {
      "https://api.openai.com/profile": { email: session.user.email, email_verified: true },
      "https://api.openai.com/auth": { user_id: session.user.id },
      iss: "https://auth0.openai.com/",
      sub: `auth0|${session.user.id}`,
      aud: ["https://api.openai.com/v1"],
      iat: Math.floor(now / 1000),
      exp: Math.ceil(expiresAt / 1000),
      exp_ms: expiresAt,
      jti: randomBytes(8).toString("hex"),
    };
    const token = `${b64url({ alg: "RS256", typ: "JWT" })}.${b64url(payload)}.${randomBytes(32).toString("base64url")}`;
    this.#access.set(token, { session, expiresAt });
    let issued = this.#issued.get(session);
    if (!issued) this.#issued.set(session, (issued = []));
    issued.push(token);
    if (issued.length > TOKENS_PER_SESSION) this.#access.delete(issued.shift()!);
    return { token, expiresAt };
  }

  accessToken(token: string): AccessToken | undefined {
    return this.#access.get(token);
  }
}
