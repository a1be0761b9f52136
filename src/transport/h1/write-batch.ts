/**
 * Requests written in one turn of the event loop leave together at its end.
 *
 * Under load a gateway reads many clients' requests in one turn and writes
 * each upstream as soon as it is ready, ~50 µs apart: every write then finds
 * the upstream asleep and pays for waking it (on a VM, a halted vCPU woken
 * through the hypervisor), and the upstream reads one request per wake.
 * Held corked until the turn's check phase, they leave back to back: one
 * wake, one read of many. A request alone in flight leaves at once (there is
 * nothing to wait for, and waiting would only add latency).
 */
import type { Socket } from "node:net";

let held: Socket[] = [];

function flush(): void {
  const sockets = held;
  held = [];
  for (const s of sockets) s.uncork();
}

/** Uncorks a corked `socket` at the end of this turn of the loop: what it holds leaves in one syscall then. */
export function uncorkAtTurnEnd(socket: Socket): void {
  if (held.push(socket) === 1) setImmediate(flush);
}

/** Exchanges in progress on every connection of the process: more than one means others may join a batch. */
export const inFlight = { count: 0 };
