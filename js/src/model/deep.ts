/**
 * Python's answers for the rows whose match turns on a path into the message
 * (`content.data.method:update`): a row carries only the top-level fields, so the view asks
 *
 *     {"kind": "match", "id": n, "query": "…", "seqs": [17, 18, …]}
 *
 * and Python answers with the seqs among them that match (`jpf_widget/feed.py`). Answers are
 * kept for the current query only. A row not answered yet is not listed; it is asked about once,
 * with the other rows met meanwhile, and listed when Python says it matches (`found`).
 */
import type { Row } from "../types";
import type { RequestClient } from "./client";

/** Answers kept, at most; the oldest are forgotten first (asked again if met again). */
const KEEP = 200_000;

export class DeepMatches {
  /** The query asked about ("": none). */
  private query = "";
  private readonly known = new Map<number, boolean>();
  /** Seqs asked about and not answered yet. */
  private readonly asked = new Set<number>();
  private missing: number[] = [];
  /** The request on its way, and the seqs it asks about. */
  private flying: { id: number; seqs: number[] } | null = null;

  constructor(
    private readonly client: RequestClient,
    /** Python said these rows (ascending seqs) match the current query. */
    private readonly found: (seqs: number[]) => void,
  ) {}

  /** The query whose paths Python is asked about ("": none); another forgets the answers. */
  setQuery(text: string): void {
    if (text === this.query) return;
    this.query = text;
    this.known.clear();
    this.asked.clear();
    this.missing = [];
    this.flying = null;
  }

  /** Python's answer for the row; false until it comes (the row is asked about meanwhile). */
  decide(row: Row): boolean {
    const v = this.known.get(row.seq);
    if (v !== undefined) return v;
    if (this.query && !this.asked.has(row.seq)) {
      this.asked.add(row.seq);
      if (!this.missing.length) queueMicrotask(() => this.flush());
      this.missing.push(row.seq);
    }
    return false;
  }

  /** Rows Python already found matching the current query (a page of older rows). */
  matched(rows: readonly Row[]): void {
    if (!this.query) return;
    for (const r of rows) this.known.set(r.seq, true);
  }

  /**
   * Ask about the rows met since the last time. One request at a time: while Python is busy
   * (it answers only when the notebook's kernel is idle) the rows met meanwhile wait for the
   * answer, then go in one request.
   */
  private flush(): void {
    const flying = this.flying;
    if (flying) {
      if (this.client.waits(flying.id)) return;
      // The client gave up waiting (too many requests unanswered): ask about those again.
      this.missing = flying.seqs.concat(this.missing);
      this.flying = null;
    }
    const seqs = this.missing;
    this.missing = [];
    const query = this.query;
    if (!seqs.length || !query) return;
    const req = this.client.request("match", { query, seqs });
    const sent = { id: req.id, seqs };
    this.flying = sent;
    const settle = (yes: ReadonlySet<number>) => {
      if (this.flying !== sent) return; // another query since
      this.flying = null;
      const found: number[] = [];
      for (const s of seqs) {
        this.asked.delete(s);
        this.known.set(s, yes.has(s));
        if (yes.has(s)) found.push(s);
      }
      if (this.known.size > KEEP) {
        let drop = this.known.size - KEEP / 2;
        for (const s of this.known.keys()) {
          if (drop-- <= 0) break;
          this.known.delete(s);
        }
      }
      if (found.length) this.found(found.sort((a, b) => a - b));
      if (this.missing.length) this.flush();
    };
    req.then(
      (a) => settle(new Set(a.kind === "match" ? a.seqs : [])),
      // Python could not answer (it logs why): the rows stay hidden, and are not asked again.
      () => settle(new Set()),
    );
  }
}
