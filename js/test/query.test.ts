/**
 * The filter box's query parser against the table Python's is tested on
 * (`tests/query_cases.json`): every case's query on every row, and every malformed query.
 */
import { describe, expect, it } from "vitest";
import tableJson from "../../tests/query_cases.json";
import { toRow } from "../src/protocol";
import { compileQuery, QueryError } from "../src/query";
import type { Row } from "../src/types";

interface Table {
  messages: Record<string, { row: unknown }>;
  cases: { query: string; matches: string[] }[];
  errors: { query: string; position: number; message: string }[];
}

const table = tableJson as Table;
// As the view gets them: decoded from what rows.row() sends (the Python test checks the table's
// rows are exactly that).
const rows: [string, Row][] = Object.entries(table.messages).map(([name, m]) => [
  name,
  toRow(m.row) as Row,
]);

describe("the shared table of queries", () => {
  it("has rows for every message, and enough cases", () => {
    expect(rows.every(([, r]) => r !== null)).toBe(true);
    expect(table.cases.length).toBeGreaterThanOrEqual(40);
    expect(table.errors.length).toBeGreaterThanOrEqual(10);
  });

  it.each(table.cases)("$query", ({ query, matches }) => {
    const q = compileQuery(query);
    for (const [name, row] of rows) {
      const got = q.matchRow(row);
      if (got === undefined) {
        // Only a path into the message leaves a row undecided (Python is asked), and never
        // for a marker, which has no message.
        expect(q.deep, `${name} undecided`).toBe(true);
        expect(row.channel).not.toBe("monitor");
      } else {
        expect(got, name).toBe(matches.includes(name));
      }
    }
  });

  it("decides every row of a query without paths, and undecided rows are the rows Python is asked about", () => {
    let undecided = 0;
    for (const { query } of table.cases) {
      const q = compileQuery(query);
      const unknown = rows.filter(([, r]) => q.matchRow(r) === undefined).length;
      if (!q.deep) expect(unknown, query).toBe(0);
      undecided += unknown;
    }
    expect(undecided).toBeGreaterThan(50); // the deep cases are really left to Python
  });

  it.each(table.errors)("malformed: $query", ({ query, position, message }) => {
    let caught: unknown;
    try {
      compileQuery(query);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(QueryError);
    const e = caught as QueryError;
    expect([e.position, e.reason]).toEqual([position, message]);
    expect(e.message).toBe(`column ${position + 1}: ${message}`);
  });
});

describe("query details", () => {
  const r = rows[0][1];
  it("decides a path term when another term already does", () => {
    // false AND undecided is false; true OR undecided is true
    expect(compileQuery("msg_type:nope content.x:1").matchRow(r)).toBe(false);
    expect(compileQuery("content.x:1 OR msg_type:execute_input").matchRow(r)).toBe(true);
    expect(compileQuery("content.x:1 OR msg_type:nope").matchRow(r)).toBeUndefined();
    expect(compileQuery("-content.x:1").matchRow(r)).toBeUndefined();
  });
});
