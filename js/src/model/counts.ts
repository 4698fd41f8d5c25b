/**
 * What the rows received so far add up to, for the chips and the status lane: messages per
 * msg_type, channel and client, whether a row sent to the kernel was seen, and the newest
 * `status` rows. Counted as rows enter the window; forgotten when the window starts over.
 */
import { TO_KERNEL } from "../clients";
import type { Row } from "../types";

/** `status` rows kept for the lane (trimmed to this many once half as many again are held). */
const STATUS_KEEP = 2000;

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export class Counts {
  readonly types = new Map<string, number>();
  readonly channels = new Map<string, number>();
  /** Messages per client id (the client chips list the clients seen). */
  readonly clients = new Map<string, number>();
  /** A row sent to the kernel was seen (the direction chips are shown). */
  seenToKernel = false;
  /** `status` rows, ascending seq (the status lane). */
  statusRows: Row[] = [];

  /** Count rows new to the window; `merged`: some came before rows already held. */
  add(added: readonly Row[], merged: boolean): void {
    for (const r of added) {
      bump(this.types, r.msg_type);
      bump(this.channels, r.channel);
      if (r.client) bump(this.clients, r.client);
      if (r.direction === TO_KERNEL) this.seenToKernel = true;
      if (r.msg_type === "status") this.statusRows.push(r);
    }
    if (merged) this.statusRows.sort((a, b) => a.seq - b.seq);
    if (this.statusRows.length > STATUS_KEEP * 1.5)
      this.statusRows = this.statusRows.slice(-STATUS_KEEP);
  }

  clear(): void {
    this.types.clear();
    this.channels.clear();
    this.clients.clear();
    this.seenToKernel = false;
    this.statusRows = [];
  }
}
