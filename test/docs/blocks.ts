/**
 * The README's shell blocks, as the docs test runs them.
 *
 * Every ```sh block carries a marker on the line before it:
 *
 *   <!-- test -->                      run it, in a new session (a fresh copy of the checkout)
 *   <!-- test: continued -->           run it in the session of the block before (same
 *                                      directory, variables and background processes)
 *   <!-- test: expect TEXT -->         and its output must contain TEXT (repeatable, `;` between)
 *   <!-- test: skip REASON -->         not run; the reason (the rest of the marker) says why
 *
 * A session is one bash script: `set -e` and `pipefail`, so every command must
 * succeed; `curl` fails on an HTTP error; a command sent to the background
 * (`... &`) is waited for until it listens on one of the README's ports, and
 * every background process is stopped when the session ends.
 */

export interface Marker {
  continued: boolean;
  skip: string | null;
  expect: string[];
}

export interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  info: string;
  code: string;
  marker: Marker | null;
}

const SHELL = new Set(["sh", "bash", "shell", "console"]);
const MARKER = /^<!--\s*test(?::\s*(.*?))?\s*-->$/;

export function parseMarker(text: string): Marker | null {
  const m = MARKER.exec(text.trim());
  if (m === null) return null;
  const marker: Marker = { continued: false, skip: null, expect: [] };
  const options = m[1] ?? "";
  // A skip's reason is free text, `;` included.
  if (/^skip\s+\S/.test(options)) return { ...marker, skip: options.slice(4).trim() };
  for (const part of options.split(";").map((p) => p.trim()).filter((p) => p !== "")) {
    const [word = "", ...rest] = part.split(/\s+/);
    const arg = part.slice(word.length).trim();
    if (word === "continued" && rest.length === 0) marker.continued = true;
    else if (word === "expect" && arg !== "") marker.expect.push(arg);
    else throw new Error(`unknown test marker option "${part}" (continued, expect TEXT; or skip REASON alone)`);
  }
  return marker;
}

/** The shell blocks of a Markdown text, each with the marker on the line before it (if any). */
export function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(```+)\s*([\w-]*)/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith(fence)) end++;
    const info = open[2]!;
    if (SHELL.has(info)) {
      let prev = start - 1;
      while (prev >= 0 && lines[prev]!.trim() === "") prev--;
      out.push({ line: start + 1, info, code: lines.slice(start + 1, end).join("\n"), marker: prev >= 0 ? parseMarker(lines[prev]!) : null });
    }
    i = end;
  }
  return out;
}

/** Blocks to run, grouped into sessions. */
export function sessions(blocks: readonly Block[]): Block[][] {
  const out: Block[][] = [];
  for (const b of blocks) {
    if (b.marker === null || b.marker.skip !== null) continue;
    if (b.marker.continued) {
      const last = out.at(-1);
      if (last === undefined) throw new Error(`README line ${b.line}: "continued" with no block before it`);
      last.push(b);
    } else out.push([b]);
  }
  return out;
}

export const blockSeparator = (line: number): string => `@@readme-block-${line}@@`;

const PRELUDE = String.raw`
set -eo pipefail
set -m
[ -n "$__KP_WAIT_S" ] || __KP_WAIT_S=30
__kp_open() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
__kp_snap() { __kp_before=""; for p in $__KP_PORTS; do if __kp_open "$p"; then __kp_before="$__kp_before $p"; fi; done; }
__kp_wait() {
  local pid=$1 i p
  for i in $(seq 1 $(( __KP_WAIT_S * 10 ))); do
    for p in $__KP_PORTS; do
      case " $__kp_before " in *" $p "*) continue ;; esac
      if __kp_open "$p"; then return 0; fi
    done
    if ! kill -0 "$pid" 2>/dev/null; then echo "docs test: background command $pid exited before it listened" >&2; return 1; fi
    sleep 0.1
  done
  echo "docs test: background command $pid did not listen within $__KP_WAIT_S s" >&2
  return 1
}
__kp_stop() { for pid in $(jobs -p); do kill -TERM -- "-$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap __kp_stop EXIT
trap 'exit 143' TERM INT
curl() { command curl --fail-with-body --show-error "$@"; }
`;

/** Joins `\`-continued lines; a line sent to the background waits until it listens. */
export function toScript(code: string, replace: (line: string) => string): string {
  const joined = code.replace(/\\\n/g, "");
  return joined
    .split("\n")
    .map((raw) => {
      const line = replace(raw);
      const bg = /^(.*[^&])&\s*(#.*)?$/.exec(line);
      if (bg === null || line.trim().startsWith("#")) return line;
      return `__kp_snap; ${bg[1]!.trim()} & __kp_wait $!${bg[2] === undefined ? "" : `  ${bg[2]}`}`;
    })
    .join("\n");
}

/** A session's whole script: the prelude, then each block after its separator line. */
export function sessionScript(blocks: readonly Block[], replace: (line: string) => string): string {
  return [PRELUDE, ...blocks.map((b) => `echo ${blockSeparator(b.line)}\n${toScript(b.code, replace)}`)].join("\n");
}
