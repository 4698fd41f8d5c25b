/**
 * Field queries in the filter box: the grammar of `jpf_widget/query.py` (and of `m.query(...)`,
 * `jpf ... --where`), parsed here the same way and tested against the same table,
 * `tests/query_cases.json`. `docs/query-language.md` explains it to users.
 *
 *     query  := group ("OR" group)*        any group may hold
 *     group  := term (whitespace term)*    every term must hold
 *     term   := ["-"] [field ":"] value    "-" negates; without a field: free text
 *     field  := name | root "." key ("." key)*   root: header, parent_header, metadata, content
 *
 * A row carries the top-level fields only (`types.ts` Row), so a row decides every term but the
 * paths into the message: `matchRow` answers true, false, or undefined when it turns on a path,
 * and Python is asked (`model/deep.ts`). Markers (channel `monitor`) have no paths: a path term
 * never matches one.
 */
import type { Row } from "./types";

/** A malformed query: `reason` says what is wrong and what to write; `position` is where (from 0). */
export class QueryError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`column ${position + 1}: ${reason}`);
    this.name = "QueryError";
  }
}

/** The top-level fields, as a row has them. */
const FIELDS = new Map<string, (row: Row) => string | readonly string[]>(
  Object.entries({
    msg_type: (r) => r.msg_type,
    channel: (r) => r.channel,
    direction: (r) => r.direction,
    client: (r) => r.client,
    msg_id: (r) => r.msg_id,
    parent_id: (r) => r.parent_id,
    parent_type: (r) => r.parent_type,
    comm_id: (r) => r.comm_id,
    session: (r) => r.session,
    state: (r) => r.state,
    status: (r) => r.state,
    summary: (r) => r.summary,
    mime: (r) => r.mimes,
  } satisfies Record<string, (row: Row) => string | readonly string[]>),
);
const ROOTS = ["header", "parent_header", "metadata", "content"];
const FIELD_LIST =
  "msg_type, channel, direction, client, msg_id, parent_id, parent_type, comm_id, session, " +
  "state (or status), summary, mime, or a path under header., parent_header., metadata. or " +
  "content.";
const OR_SIDES = "OR needs a term on both sides, as in msg_type:error OR channel:stdin";
/** The whitespace that separates terms (the same characters in Python). */
const SPACE = new Set([" ", "\t", "\n", "\r", "\f", "\v"]);

/** A character of a word: quoted or escaped ones are literal. A quoted "" leaves an empty one. */
interface Char {
  c: string;
  lit: boolean;
  pos: number;
}

/** Split at unquoted whitespace, resolving quotes and escapes (positions count code points). */
function words(text: string): Char[][] {
  const cs = Array.from(text);
  const out: Char[][] = [];
  let word: Char[] | null = null;
  let i = 0;
  while (i < cs.length) {
    const c = cs[i];
    if (SPACE.has(c)) {
      word = null;
      i += 1;
      continue;
    }
    if (!word) {
      word = [];
      out.push(word);
    }
    if (c === "\\") {
      if (i + 1 >= cs.length)
        throw new QueryError("\\ at the end escapes nothing: write \\\\ for a backslash", i);
      word.push({ c: cs[i + 1], lit: true, pos: i });
      i += 2;
    } else if (c === '"') {
      const start = i;
      word.push({ c: "", lit: true, pos: i });
      i += 1;
      for (;;) {
        if (i >= cs.length)
          throw new QueryError(
            'unclosed quote: end the value with " (write \\" for a quote in it)',
            start,
          );
        const q = cs[i];
        if (q === '"') {
          i += 1;
          break;
        }
        if (q === "\\" && i + 1 < cs.length) {
          i += 1;
          word.push({ c: cs[i], lit: true, pos: i });
        } else {
          // A * stays a wildcard in quotes: quotes only keep spaces and : apart.
          word.push({ c: q, lit: q !== "*", pos: i });
        }
        i += 1;
      }
    } else {
      word.push({ c, lit: false, pos: i });
      i += 1;
    }
  }
  return out;
}

const literal = (chars: readonly Char[]) => chars.map((x) => x.c).join("");
const quoted = (chars: readonly Char[]) =>
  `"${literal(chars).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
const isWild = (x: Char) => x.c === "*" && !x.lit;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A value to match: literal text, with wildcards where an unescaped * was typed. */
class Pattern {
  readonly text: string;
  readonly wild: boolean;
  /** Only stars: any value that is there. */
  readonly anything: boolean;
  readonly re: RegExp;

  constructor(chars: readonly Char[], whole: boolean, ignoreCase: boolean) {
    this.text = literal(chars);
    this.wild = chars.some(isWild);
    this.anything = this.wild && chars.every((x) => !x.c || isWild(x));
    const body = chars.map((x) => (isWild(x) ? "[^]*" : escapeRe(x.c))).join("");
    this.re = new RegExp(whole ? `^(?:${body})$` : body, ignoreCase ? "i" : "");
  }

  /** Does a field's value match (the whole string, or one of a list's)? */
  whole(value: string | readonly string[]): boolean {
    if (this.anything) return true;
    if (typeof value !== "string") return value.some((v) => this.whole(v));
    return this.wild ? this.re.test(value) : value === this.text;
  }
}

/** One term on a row: true, false, or undefined when only the whole message can tell. */
type Test = (row: Row) => boolean | undefined;

interface Term {
  test: Test;
  /** Cheaper terms are tried first. */
  cost: number;
  deep: boolean;
  /** The term as parsed: equal keys, equal terms. */
  key: string;
  /** A free-text term without wildcards, not negated: its text in lower case (else null). */
  plain: string | null;
}

/** How a value was typed: its literal text, with each wildcard as U+0000. */
const keyOf = (chars: readonly Char[]) => chars.map((x) => (isWild(x) ? "\0" : x.c)).join("");

const FREE_TEXT_FIELDS = ["summary", "msg_type", "msg_id", "comm_id"] as const;

function term(word: Char[]): Term {
  let chars = word;
  const negate = !chars[0].lit && chars[0].c === "-";
  if (negate) {
    if (chars.length === 1)
      throw new QueryError("- must be followed by a term, as in -msg_type:status", chars[0].pos);
    chars = chars.slice(1);
  }
  const colon = chars.findIndex((x) => x.c === ":" && !x.lit);
  let t: Term;
  if (colon < 0) {
    const p = new Pattern(chars, false, true);
    // Without wildcards a case-insensitive regular expression is still the fastest test.
    const re = p.re;
    t = {
      test: (r) => FREE_TEXT_FIELDS.some((name) => re.test(r[name])),
      cost: 2,
      deep: false,
      key: `\0${keyOf(chars)}`,
      plain: p.wild || negate ? null : p.text.toLowerCase(),
    };
  } else {
    const nameChars = chars.slice(0, colon);
    const value = chars.slice(colon + 1);
    const where = chars[colon].pos;
    if (!nameChars.length)
      throw new QueryError(
        `: must follow a field name, as in msg_type:stream; to search for the text, quote it: ${quoted(chars)}`,
        where,
      );
    const keys = [""];
    for (const x of nameChars) {
      if (x.c === "." && !x.lit) keys.push("");
      else keys[keys.length - 1] += x.c;
    }
    const name = keys[0];
    const start = nameChars[0].pos;
    const shown = literal(nameChars);
    let deep: boolean;
    if (keys.length === 1 && FIELDS.has(name)) deep = false;
    else if (keys.length === 1 && ROOTS.includes(name))
      throw new QueryError(`${name} is an object: name a key in it, as ${name}.KEY:VALUE`, start);
    else if (!ROOTS.includes(name) || keys.length === 1)
      throw new QueryError(
        `unknown field "${shown}": use ${FIELD_LIST}; to search for the text, quote it: ${quoted(chars)}`,
        start,
      );
    else if (keys.includes(""))
      throw new QueryError(`empty key in "${shown}": write ${name}.KEY:VALUE`, start);
    else deep = true;
    if (!value.length)
      throw new QueryError(
        `${shown}: needs a value, as ${shown}:VALUE (or ${shown}:"" for an empty one)`,
        where,
      );
    const p = new Pattern(value, true, false);
    const key = `${keys.join("\0.")}\0:${keyOf(value)}`;
    if (deep) {
      // Python decides on the message; a marker has no message, so no path is there.
      t = {
        test: (r) => (r.channel === "monitor" ? false : undefined),
        cost: 3,
        deep,
        key,
        plain: null,
      };
    } else {
      const get = FIELDS.get(name) as (row: Row) => string | readonly string[];
      t = { test: (r) => p.whole(get(r)), cost: 1, deep, key, plain: null };
    }
  }
  if (!negate) return t;
  const inner = t.test;
  return {
    ...t,
    key: `-${t.key}`,
    test: (r) => {
      const v = inner(r);
      return v === undefined ? undefined : !v;
    },
  };
}

/** A parsed query. */
export interface Query {
  /** The query as written. */
  readonly text: string;
  /** A term reads a path into the message (`content.…`): rows alone cannot always decide. */
  readonly deep: boolean;
  /** The terms, when there is no OR (each term must hold), for `narrowedBy`. */
  readonly terms: readonly { key: string; plain: string | null }[] | null;
  /** Does the row match? undefined: it turns on a path, which only Python can read. */
  matchRow(row: Row): boolean | undefined;
}

/**
 * Does every row that `next` matches also match `prev`? (Typing on narrows the list shown.) So
 * when neither has OR and each term of `prev` is one of `next`'s, or is free text contained in a
 * free-text term of `next`.
 */
export function narrowedBy(prev: Query, next: Query): boolean {
  const a = prev.terms;
  const b = next.terms;
  if (!a || !b) return false;
  return a.every((p) =>
    b.some((n) => n.key === p.key || (p.plain !== null && n.plain?.includes(p.plain) === true)),
  );
}

function sortedTests(group: Term[]): Test[] {
  return group
    .slice()
    .sort((a, b) => a.cost - b.cost)
    .map((t) => t.test);
}

/** Parse a query; an empty one matches every row. Throws `QueryError` when malformed. */
export function compileQuery(text: string): Query {
  const groups: Test[][] = [];
  const all: Term[] = [];
  let group: Term[] = [];
  let deep = false;
  let lastOr = -1;
  for (const word of words(text)) {
    if (word.length === 2 && !word[0].lit && !word[1].lit && word[0].c + word[1].c === "OR") {
      if (!group.length) throw new QueryError(OR_SIDES, word[0].pos);
      groups.push(sortedTests(group));
      group = [];
      lastOr = word[0].pos;
      continue;
    }
    const t = term(word);
    group.push(t);
    all.push(t);
    deep = deep || t.deep;
  }
  if (group.length) groups.push(sortedTests(group));
  else if (lastOr >= 0) throw new QueryError(OR_SIDES, lastOr);
  return {
    text,
    deep,
    terms: lastOr < 0 ? all.map(({ key, plain }) => ({ key, plain })) : null,
    matchRow(row: Row): boolean | undefined {
      if (!groups.length) return true;
      // Kleene logic: a group is false once a term is; the query true once a group is.
      let result: boolean | undefined = false;
      for (const tests of groups) {
        let all: boolean | undefined = true;
        for (const test of tests) {
          const v = test(row);
          if (v === false) {
            all = false;
            break;
          }
          if (v === undefined) all = undefined;
        }
        if (all === true) return true;
        if (all === undefined) result = undefined;
      }
      return result;
    },
  };
}
