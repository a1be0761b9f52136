/** Reading an upstream answer's body: collected whole, or relayed to the client as it comes. */
import type { Readable } from "node:stream";
import { UpstreamError } from "../../pool/errors.ts";
import type { GatewayResponse } from "../http/response.ts";
import type { AnswerKeeper } from "./answer-keeper.ts";
import type { UsageStripper } from "./usage-stripper.ts";

/**
 * Writes the upstream's chunks to the client as they come (through the
 * stripper when there is one), pausing the upstream while the client's
 * socket is full. Resolves at the upstream's end; rejects if it fails or the
 * client goes away. No pipe or Transform: one listener per event, no extra
 * stream hop per chunk.
 */
export function relay(upstream: Readable, res: GatewayResponse, stripper: UsageStripper | null, keeper: AnswerKeeper | null, merge: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const write = (parts: Buffer[]): void => {
      let ok = true;
      // The parts of one upstream chunk leave in one syscall (node:http corks the socket for a tick, or relay does).
      for (const part of parts) ok = res.write(part) && ok;
      if (!ok && !upstream.isPaused()) upstream.pause();
    };
    // With `merge`, what arrived together with the upstream's end stays corked and leaves with the
    // end of the answer, after metering: an answer that came whole costs one syscall instead of two
    // (each loopback write costs ~20 µs of CPU), at the price of its first byte waiting for the
    // meter. The socket is corked, not the response: a corked response would queue its chunks
    // behind end()'s terminator.
    const socket = merge ? res.socket : null;
    let corked = false;
    const release = (): void => {
      if (upstream.readableEnded) return;
      corked = false;
      socket?.uncork();
    };
    const onData = (chunk: Buffer): void => {
      keeper?.push(chunk);
      if (!corked && socket !== null) {
        corked = true;
        socket.cork();
        // A microtask runs after the ticks that emit the upstream's 'end' when it came in the same read.
        queueMicrotask(release);
      }
      if (stripper === null) {
        if (!res.write(chunk)) upstream.pause();
      } else write(stripper.push(chunk));
    };
    const onDrain = (): void => void upstream.resume();
    const cleanup = (): void => {
      upstream.off("data", onData);
      upstream.off("end", onEnd);
      upstream.off("error", onError);
      upstream.off("close", onClose);
      res.off("drain", onDrain);
      res.off("close", onClose);
    };
    const onEnd = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      if (upstream.readableEnded) return;
      cleanup();
      upstream.destroy();
      reject(Object.assign(new Error(res.destroyed ? "client disconnected" : "upstream closed early"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    };
    upstream.on("data", onData);
    upstream.once("end", onEnd);
    upstream.once("error", onError);
    upstream.once("close", onClose);
    res.on("drain", onDrain);
    res.once("close", onClose);
  });
}

/** 502: an answer the upstream cut short before the gateway had sent any of it. */
export class CutAnswerError extends UpstreamError {}

/** A collected body, or (one of unknown length past the limit) its first chunks with the rest left paused in the stream. */
export type Collected = { body: Buffer; head: null } | { body: null; head: Buffer[] };

/** Reads a body into one buffer; fails with a 502 when the upstream cuts it short. */
export function collect(body: Readable, length: number, limit: number): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const received = (): string => `${size} bytes${Number.isNaN(length) ? "" : ` of ${length}`}`;
    const cleanup = (): void => {
      body.off("data", onData);
      body.off("end", onEnd);
      body.off("error", onError);
      body.off("close", onClose);
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      size += c.length;
      if (size > limit && Number.isNaN(length)) {
        body.pause();
        cleanup();
        resolve({ body: null, head: chunks });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), head: null });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new CutAnswerError(`the upstream's answer failed after ${received()}: ${err.message}`, err));
    };
    const onClose = (): void => {
      if (body.readableEnded) return;
      cleanup();
      reject(new CutAnswerError(`the upstream's answer was cut short after ${received()}`));
    };
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", onError);
    body.once("close", onClose);
  });
}
