/**
 * The change feed: one subscriber connection per store on channel
 * `{prefix}changes`. Writes publish from inside their Lua scripts, so a change
 * is announced exactly when it happens.
 *
 * The subscription is made when the store opens, in parallel with the main
 * connection, not when the first listener arrives: a SUBSCRIBE lands a few
 * round trips after it is sent, and a listener attached right after open must
 * hear a write another instance makes right after (the conformance suite's
 * "shares data and changes" case). If it is not in place yet, every operation
 * of the store waits for it (`pending()`, at most the command timeout), so a
 * list made after subscribing misses nothing that was announced before.
 *
 * Pub/sub forgets what was published while a subscriber was away, so after
 * any reconnect (and after a first subscription that had to wait for Redis)
 * listeners get `{ type: "resync", ids: [] }` and should reload. A heartbeat
 * PING notices a connection that died silently and reconnects it.
 */
import type { Change, ChangeFeed } from "../types.ts";
import { RedisLink, type Endpoint } from "./connection.ts";
import type { Settings } from "./options.ts";

type Listener = (change: Change) => void;

const HEARTBEAT_MS = 5_000;
const RESYNC: Change = { type: "resync", ids: [] };

export interface RedisChangeFeed extends ChangeFeed {
  /** Connects and subscribes; resolves when subscribed, when Redis refused, or after the command timeout. */
  start(): Promise<void>;
  /** Resolves when the first subscription is active (or its wait ended); null when nothing is pending. */
  pending(): Promise<void> | null;
  close(): Promise<void>;
}

function parseChange(message: string): Change | null {
  try {
    const value = JSON.parse(message) as { type?: unknown; ids?: unknown };
    if (value.type !== "upsert" && value.type !== "remove" && value.type !== "resync") return null;
    // Lua's cjson encodes an empty table as {}, never as []: treat anything but a list as no ids.
    const ids = Array.isArray(value.ids) ? value.ids.filter((id): id is string => typeof id === "string") : [];
    return { type: value.type, ids };
  } catch {
    return null;
  }
}

export function redisChangeFeed(endpoint: Endpoint, settings: Settings, channel: string): RedisChangeFeed {
  const listeners = new Set<Listener>();
  const sub = new RedisLink(endpoint, { name: `${settings.instance}:feed`, commandTimeoutMs: settings.commandTimeoutMs });
  let heartbeat: NodeJS.Timeout | undefined;
  let closed = false;
  /** True when the subscription may have missed messages: after any drop, or a first subscription that waited. */
  let missed = false;
  let firstSubscription: Promise<void> | null = null;
  let endWait: () => void = () => undefined;

  const deliver = (change: Change): void => {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        // Like an EventEmitter listener's error: surfaced, not swallowed, and not inside ioredis's parser.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  };

  sub.redis.on("message", (from: string, message: string) => {
    if (from !== channel) return;
    const change = parseChange(message);
    if (change !== null) deliver(change);
  });
  sub.redis.on("close", () => {
    missed = true;
  });
  sub.redis.on("ready", () => {
    sub.redis.subscribe(channel).then(
      () => {
        endWait();
        if (missed) {
          missed = false;
          deliver(RESYNC);
        }
        return undefined;
      },
      // Subscribing failed on a live connection: start over with a fresh one.
      () => {
        if (!closed) sub.redis.disconnect(true);
      },
    );
  });

  return {
    start() {
      heartbeat = setInterval(() => {
        if (!sub.ready) return;
        sub.redis.ping().catch(() => {
          if (!closed) sub.redis.disconnect(true);
        });
      }, HEARTBEAT_MS);
      heartbeat.unref();
      let timer: NodeJS.Timeout | undefined;
      firstSubscription = new Promise<void>((resolve) => {
        endWait = resolve;
        // Redis is slow or away: stop holding operations up; a resync follows when the subscription lands.
        timer = setTimeout(() => {
          missed = true;
          resolve();
        }, settings.commandTimeoutMs);
      }).then(() => {
        clearTimeout(timer);
        firstSubscription = null;
        endWait = () => undefined;
        return undefined;
      });
      const wait = firstSubscription;
      void sub.start(settings.commandTimeoutMs).then((connected) => {
        if (!connected) {
          missed = true;
          endWait();
        }
        return undefined;
      });
      return wait;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    pending: () => firstSubscription,
    async close() {
      closed = true;
      endWait();
      listeners.clear();
      clearInterval(heartbeat);
      await sub.close();
    },
  };
}
