/**
 * Message bodies of one Monitor: an LRU cache (`lru-cache`, 2,000 entries, about 64 MB by
 * Row.size), the seqs asked for (not asked again for 10 s), and those that could not be had
 * (not asked again by themselves). Asked for in batches through the model's request client.
 */
import { LRUCache } from "lru-cache";
import type { Body } from "../types";
import { type RequestClient, RequestError } from "./client";

const BODY_CACHE = 2000;
const BODY_CACHE_BYTES = 64 * 1024 * 1024;
/** A body asked for is not asked again for this long (ms) unless the user asks. */
export const BODY_RETRY_MS = 10_000;

export class Bodies {
  readonly cache = new LRUCache<number, Body>({
    max: BODY_CACHE,
    maxSize: BODY_CACHE_BYTES,
    sizeCalculation: () => 1024,
  });
  /** Seqs asked for and when (ms, performance.now()). */
  private readonly pending = new Map<number, number>();
  /** Seqs whose body could not be had (error, or no longer held), and why. */
  readonly errors = new Map<number, string>();

  constructor(
    private readonly client: RequestClient,
    /** A row's size (the cache's byte budget counts it). */
    private readonly sizeOf: (seq: number) => number,
    /** A body arrived or failed. */
    private readonly changed: (seq: number) => void,
  ) {}

  get(seq: number): Body | undefined {
    return this.cache.get(seq);
  }

  has(seq: number): boolean {
    return this.cache.has(seq);
  }

  /** Forget what was asked for and what failed (the window started over). */
  forgetAsked(): void {
    this.pending.clear();
    this.errors.clear();
  }

  /** Ask for bodies (at most one request per call); seqs asked for recently are skipped. */
  fetch(seqs: number[], now: number): void {
    const want = seqs.filter((s) => {
      if (this.cache.has(s) || this.errors.has(s)) return false;
      const asked = this.pending.get(s);
      return asked === undefined || now - asked >= BODY_RETRY_MS;
    });
    if (!want.length) return;
    for (const s of want) this.pending.set(s, now);
    if (this.pending.size > 5000) this.pending.clear();
    this.sendBodies(want);
  }

  /** Ask for one body again (the user opened the row, or pressed "retry"). */
  forget(seq: number): void {
    this.pending.delete(seq);
    this.errors.delete(seq);
  }

  private sendBodies(seqs: number[]): void {
    this.client.request("bodies", { seqs }).then(
      (a) => {
        if (a.kind === "bodies") this.addBodies(a.bodies, seqs);
      },
      (e: unknown) => this.bodiesFailed(seqs, e instanceof RequestError ? e.message : ""),
    );
  }

  private addBodies(bodies: Body[], asked: number[]): void {
    for (const b of bodies) {
      this.pending.delete(b.seq);
      this.errors.delete(b.seq);
      this.cache.set(b.seq, b, { size: Math.max(1, this.sizeOf(b.seq)) });
      this.changed(b.seq);
    }
    // Seqs left out of the answer are unknown to the monitor or evicted from its log.
    for (const seq of asked) {
      if (!this.cache.has(seq)) this.markBodyError(seq, "the monitor no longer holds this message");
    }
  }

  /**
   * A `bodies` request failed. One bad message (say, nested too deep for Python to encode)
   * fails the whole batch: ask again one seq at a time, so only that one is marked.
   */
  private bodiesFailed(seqs: number[], message: string): void {
    if (seqs.length > 1) {
      for (const seq of seqs) this.sendBodies([seq]);
      return;
    }
    for (const seq of seqs) this.markBodyError(seq, message || "the monitor could not send it");
  }

  private markBodyError(seq: number, message: string): void {
    this.pending.delete(seq);
    this.errors.set(seq, message);
    if (this.errors.size > 5000) {
      const oldest = this.errors.keys().next().value;
      if (oldest !== undefined) this.errors.delete(oldest);
    }
    this.changed(seq);
  }
}
