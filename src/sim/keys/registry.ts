import { toKeyBehaviour, type BehaviourSpec, type KeyBehaviour } from "../spec/key-behaviour.ts";
import type { UnknownKeys } from "../scenario.ts";
import { maskSecret } from "../../util/mask.ts";
import { KeyState } from "./key-state.ts";

const OK = toKeyBehaviour("ok");

/** Every simulated key by its secret; rebuilt from the initial configuration on reset. */
export class KeyRegistry {
  readonly unknownKeys: UnknownKeys;
  readonly #initial: ReadonlyMap<string, KeyBehaviour>;
  #keys = new Map<string, KeyState>();

  constructor(initial: Record<string, string | BehaviourSpec>, unknownKeys: UnknownKeys) {
    this.unknownKeys = unknownKeys;
    const parsed = new Map<string, KeyBehaviour>();
    for (const [key, spec] of Object.entries(initial)) parsed.set(key, toKeyBehaviour(spec, `key "${maskSecret(key)}"`));
    this.#initial = parsed;
    this.reset();
  }

  reset(): void {
    this.#keys = new Map();
    for (const [key, behaviour] of this.#initial) this.#keys.set(key, new KeyState(key, behaviour));
  }

  get(key: string): KeyState | undefined {
    return this.#keys.get(key);
  }

  /** The key's state; with `unknownKeys: "ok"` a new key is created as `ok`. */
  resolve(key: string): KeyState | undefined {
    const state = this.#keys.get(key);
    if (state !== undefined || this.unknownKeys === "invalid") return state;
    const created = new KeyState(key, OK);
    this.#keys.set(key, created);
    return created;
  }

  /** Creates the key or changes its behaviour. */
  set(key: string, behaviour: string | BehaviourSpec): KeyState {
    const parsed = toKeyBehaviour(behaviour, `key "${maskSecret(key)}"`);
    const state = this.#keys.get(key);
    if (state) {
      state.setBehaviour(parsed);
      return state;
    }
    const created = new KeyState(key, parsed);
    this.#keys.set(key, created);
    return created;
  }

  list(): KeyState[] {
    return [...this.#keys.values()];
  }
}
