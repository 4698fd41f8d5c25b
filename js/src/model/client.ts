/**
 * The one request client of a Monitor's model: every browser -> Python request gets an id from
 * one counter and waits in one map; answers settle it. An answer nobody waits for any more (late,
 * after too many newer requests, or for a request `drop`ped as stale) is ignored here, in one place.
 */
import type { Incoming } from "../protocol";

/** The answers that settle a request (everything but live `rows`). */
export type Answer = Exclude<
  Incoming,
  { kind: "rows" } | { kind: "problems" } | { kind: "unknown" } | { kind: "error" }
>;

/** Python answered `{"kind": "error"}`: `message` says why. */
export class RequestError extends Error {}

/** A request on its way: a promise of its answer, with the request's id. */
export type Pending = Promise<Answer> & { id: number };

interface Waiter {
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
}

/** Requests not answered after this many newer ones are forgotten (a busy or restarted kernel). */
const MAX_PENDING = 500;

export class RequestClient {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();

  constructor(private readonly send: (content: Record<string, unknown>) => void) {}

  /** Send `{kind, id, ...body}`; the promise settles with Python's answer (or its error). */
  request(kind: string, body: Record<string, unknown> = {}): Pending {
    const id = this.nextId++;
    let waiter: Waiter | undefined;
    const promise = new Promise<Answer>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    // Nobody may be listening for a rejection (a stale request): never report it as unhandled.
    promise.catch(() => {});
    if (waiter) this.waiting.set(id, waiter);
    if (this.waiting.size > MAX_PENDING) {
      const oldest = this.waiting.keys().next().value;
      if (oldest !== undefined) this.waiting.delete(oldest);
    }
    this.send({ kind, id, ...body });
    return Object.assign(promise, { id });
  }

  /** Stop waiting for a request: its answer, when it comes, is dropped. */
  drop(id: number): void {
    this.waiting.delete(id);
  }

  /** Is the request still awaited? */
  waits(id: number): boolean {
    return this.waiting.has(id);
  }

  /** Settle the request an answer is for; false when none waits (the answer is dropped). */
  answer(msg: Incoming): boolean {
    if (msg.kind === "rows" || msg.kind === "problems" || msg.kind === "unknown") return false;
    const w = this.waiting.get(msg.id);
    if (!w) return false;
    this.waiting.delete(msg.id);
    if (msg.kind === "error") w.reject(new RequestError(msg.message));
    else w.resolve(msg);
    return true;
  }
}
