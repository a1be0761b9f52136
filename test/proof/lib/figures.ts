/**
 * What a proof scenario did and saw, written as it runs to
 * `.tmp/proof/<scenario>.json`; `npm run proof` makes the README's table
 * from these files, so no figure in it is written by hand.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FIGURES_DIR = fileURLToPath(new URL("../../../.tmp/proof/", import.meta.url));

export interface Timing {
  name: string;
  ms: number;
}

export interface LeakFigures {
  /** Distinct secrets looked for. */
  secrets: number;
  /** Bytes of output searched (logs, answers, metrics, error bodies). */
  bytes: number;
  /** Places searched (a process's stdout, one admin answer, ...). */
  places: number;
  /** Complete secrets found: must be zero. */
  found: number;
}

export interface ScenarioFigures {
  scenario: string;
  /** Row order in the README table. */
  order: number;
  title: string;
  /** The faults injected, in words ("SIGKILL of the gateway mid-load"). */
  faults: string[];
  /** Requests clients sent (API, admin, chat turns). */
  requests: number;
  /** Errors clients saw, and what they were. */
  clientErrors: number;
  errorNotes: string[];
  /** Acknowledged data missing afterwards: must be zero. */
  dataLost: number;
  /** Acknowledged items checked for loss. */
  dataChecked: number;
  timings: Timing[];
  /** Malformed or hostile inputs tried. */
  badInputs: number;
  leaks: LeakFigures;
  notes: string[];
  durationMs: number;
  finishedAt: string;
}

export class Figures {
  readonly #data: ScenarioFigures;
  readonly #t0 = performance.now();

  constructor(scenario: string, order: number, title: string) {
    this.#data = {
      scenario,
      order,
      title,
      faults: [],
      requests: 0,
      clientErrors: 0,
      errorNotes: [],
      dataLost: 0,
      dataChecked: 0,
      timings: [],
      badInputs: 0,
      leaks: { secrets: 0, bytes: 0, places: 0, found: 0 },
      notes: [],
      durationMs: 0,
      finishedAt: "",
    };
  }

  get data(): Readonly<ScenarioFigures> {
    return this.#data;
  }

  fault(what: string): void {
    this.#data.faults.push(what);
  }

  sent(n = 1): void {
    this.#data.requests += n;
  }

  /** Errors clients saw; `what` says which and why they were expected. */
  errors(n: number, what?: string): void {
    this.#data.clientErrors += n;
    if (what !== undefined && n > 0) this.#data.errorNotes.push(`${what}: ${n}`);
  }

  /** Acknowledged items checked, and how many of them were missing. */
  checked(items: number, lost: number): void {
    this.#data.dataChecked += items;
    this.#data.dataLost += lost;
  }

  timing(name: string, ms: number): void {
    this.#data.timings.push({ name, ms: Math.round(ms * 10) / 10 });
  }

  badInputs(n: number): void {
    this.#data.badInputs += n;
  }

  leaks(l: LeakFigures): void {
    const d = this.#data.leaks;
    d.secrets = Math.max(d.secrets, l.secrets);
    d.bytes += l.bytes;
    d.places += l.places;
    d.found += l.found;
  }

  note(text: string): void {
    this.#data.notes.push(text);
  }

  /** Writes the record (call after each test: a failing run still leaves what it saw). */
  save(): void {
    this.#data.durationMs = Math.round(performance.now() - this.#t0);
    this.#data.finishedAt = new Date().toISOString();
    mkdirSync(FIGURES_DIR, { recursive: true });
    writeFileSync(`${FIGURES_DIR}${this.#data.scenario}.json`, `${JSON.stringify(this.#data, null, 2)}\n`);
  }
}
