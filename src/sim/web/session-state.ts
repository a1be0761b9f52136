import { createHash } from "node:crypto";
import type { SessionBehaviour } from "../spec/session-behaviour.ts";
import { copyStats, countStatus, emptyStats, type CredentialStats } from "../keys/stats.ts";
import type { Conversation } from "./conversation.ts";

/** What `GET /_sim/sessions/:token` and `Simulator.sessions()` show of a session. */
export interface SessionView {
  /** The token the session was configured with; control routes accept it or the current one. */
  id: string;
  /** The current session token (differs from `id` after rotations). */
  token: string;
  behaviour: string;
  rotations: number;
  conversations: number;
  streaming: number;
  stats: CredentialStats & { messages: number };
}

/** One simulated ChatGPT account behind a session token. */
export class SessionState {
  readonly id: string;
  token: string;
  behaviour: SessionBehaviour;
  readonly user: { id: string; name: string; email: string };
  stats: CredentialStats = emptyStats();
  messages = 0;
  rotations = 0;
  /** Messages being streamed now (the backend allows one at a time). */
  streaming = 0;
  readonly conversations = new Map<string, Conversation>();

  constructor(id: string, behaviour: SessionBehaviour) {
    this.id = id;
    this.token = id;
    this.behaviour = behaviour;
    const tag = createHash("sha256").update(id).digest("hex").slice(0, 12);
    this.user = { id: `user-${tag}`, name: `Sim User ${tag.slice(0, 4)}`, email: `sim-${tag.slice(0, 8)}@example.com` };
  }

  recordStatus(status: number | "reset" | "hang"): void {
    countStatus(this.stats, status);
  }

  view(): SessionView {
    return {
      id: this.id,
      token: this.token,
      behaviour: this.behaviour.text,
      rotations: this.rotations,
      conversations: this.conversations.size,
      streaming: this.streaming,
      stats: { ...copyStats(this.stats), messages: this.messages },
    };
  }
}
