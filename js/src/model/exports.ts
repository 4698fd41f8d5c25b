/**
 * What a view takes out of the monitor: a trace file of the messages the list's filters show
 * (`export`, answered with the trace's bytes in `buffers[0]`, its file name and message count),
 * and the Mermaid sequence diagram of a request's thread (`diagram`, answered with the diagram's
 * text in `buffers[0]`, as `m.diagram(msg_id)` gives it). Python writes both; see ../README.md.
 */
import type { Filters } from "../filter";
import type { RequestClient } from "./client";
import { wireFilters } from "./paging";

/** A trace file to save: its name (`<kernel id prefix>-<UTC time>.jsonl`) and bytes. */
export interface TraceFile {
  name: string;
  messages: number;
  bytes: Uint8Array;
}

/** Ask Python for a trace of the messages held that pass `filters`. */
export async function exportTrace(client: RequestClient, filters: Filters): Promise<TraceFile> {
  const a = await client.request("export", { filters: wireFilters(filters) });
  if (a.kind !== "export") throw new Error(`unexpected answer to export: ${a.kind}`);
  return { name: a.name, messages: a.messages, bytes: a.bytes };
}

/** Ask Python for the sequence diagram of the thread of the request `msgId`. */
export async function threadDiagram(client: RequestClient, msgId: string): Promise<string> {
  const a = await client.request("diagram", { msg_id: msgId });
  if (a.kind !== "diagram") throw new Error(`unexpected answer to diagram: ${a.kind}`);
  return a.text;
}
