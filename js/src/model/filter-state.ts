/**
 * The list's filters, read from the filter traits (plus the view-only "show own" and the text
 * typed but not saved yet), and the predicate made from them. Typed text applies at once and is
 * saved to `filter_text` after a pause in typing.
 */
import { type Filters, makePredicate, NO_FILTERS, narrows, sameFilters } from "../filter";
import type { Model, Row } from "../types";

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
  private textTimer = 0;

  constructor(
    private readonly model: Model,
    private readonly save: (name: string, value: unknown) => void,
  ) {}

  /** Read the traits; "narrowed": only fewer rows pass (more text typed). */
  read(): FilterChange {
    const m = this.model;
    const cleared = Number(m.get("cleared_seq"));
    const prev = this.filters;
    this.filters = {
      types: asList(m.get("filter_types")),
      channels: asList(m.get("filter_channels")),
      directions: asList(m.get("filter_directions")),
      clients: asList(m.get("filter_clients")),
      // What the user typed wins until it is saved.
      text: this.typedText ?? asString(m.get("filter_text")),
      showStatus: m.get("show_status") === true,
      clearedSeq: Number.isFinite(cleared) ? cleared : -1,
      showOwn: this.showOwn,
    };
    if (sameFilters(prev, this.filters)) return "same";
    this.predicate = makePredicate(this.filters);
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
