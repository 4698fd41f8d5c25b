/**
 * The list's filters, read from the filter traits (plus the view-only "show own" and the text
 * typed but not saved yet), and the predicate made from them. Typed text applies at once and is
 * saved to `filter_text` after a pause in typing. Text that is not a well-formed query is not
 * applied: `error` says why, and the last good text stays in force.
 */
import {
  type Filters,
  makePredicate,
  NO_FILTERS,
  narrows,
  sameFilters,
  textQuery,
} from "../filter";
import { type Query, QueryError } from "../query";
import type { Model, Row } from "../types";
import type { RequestClient } from "./client";
import { DeepMatches } from "./deep";

/** The filter text is saved to the trait after this pause in typing (ms). */
const TEXT_SAVE_MS = 300;

/** How new filters relate to the previous ones. */
export type FilterChange = "same" | "narrowed" | "changed";

function asString(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function asList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export class FilterState {
  filters: Filters = NO_FILTERS;
  predicate: (row: Row) => boolean = makePredicate(NO_FILTERS);
  /** View-only: also list the monitor's own probe replies (shared by the model's views). */
  showOwn = false;
  /** The filter text typed and applied, not saved to the trait yet (null: none pending). */
  typedText: string | null = null;
  /** Why the filter text is not a query ("" when it is). */
  error = "";
  /** Python's answers for the rows the query's paths decide. */
  readonly deep: DeepMatches;
  private textTimer = 0;

  constructor(
    private readonly model: Model,
    private readonly save: (name: string, value: unknown) => void,
    client: RequestClient,
    /** Python found these rows match the query's paths. */
    found: (seqs: number[]) => void,
  ) {
    this.deep = new DeepMatches(client, found);
  }

  /** Read the traits; "narrowed": only fewer rows pass (more text typed). */
  read(): FilterChange {
    const m = this.model;
    const cleared = Number(m.get("cleared_seq"));
    const prev = this.filters;
    // What the user typed wins until it is saved; a malformed query leaves the last good one.
    let text = this.typedText ?? asString(m.get("filter_text"));
    let query: Query | null;
    try {
      query = textQuery(text);
      this.error = "";
    } catch (e) {
      if (!(e instanceof QueryError)) throw e;
      this.error = e.message;
      text = prev.text;
      query = textQuery(text);
    }
    this.filters = {
      types: asList(m.get("filter_types")),
      channels: asList(m.get("filter_channels")),
      directions: asList(m.get("filter_directions")),
      clients: asList(m.get("filter_clients")),
      text,
      showStatus: m.get("show_status") === true,
      onlyProblems: m.get("only_problems") === true,
      clearedSeq: Number.isFinite(cleared) ? cleared : -1,
      showOwn: this.showOwn,
    };
    if (sameFilters(prev, this.filters)) return "same";
    this.deep.setQuery(query?.deep ? query.text : "");
    this.predicate = makePredicate(this.filters, (row) => this.deep.decide(row));
    return narrows(prev, this.filters) ? "narrowed" : "changed";
  }

  /** Text typed in a view's filter box: saved to the trait after a pause. */
  type(text: string): void {
    this.typedText = text;
    clearTimeout(this.textTimer);
    this.textTimer = window.setTimeout(() => this.saveText(), TEXT_SAVE_MS);
  }

  /** Save the typed text now (the last view goes). */
  saveText(): void {
    clearTimeout(this.textTimer);
    this.textTimer = 0;
    const text = this.typedText;
    if (text === null) return;
    this.save("filter_text", text);
    this.typedText = null;
  }
}
