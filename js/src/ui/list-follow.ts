/**
 * Stick to bottom: while the list follows the newest row, new rows scroll it; once the user
 * scrolls up it stays put, and a "jump to latest" button counts the rows listed since.
 */
import { h, setText } from "../dom";
import type { VirtualList } from "../virtual-list";

export class FollowButton {
  readonly el = h(
    "button",
    { type: "button", class: "jpf-jump", "data-role": "jump-latest", "data-new": "0" },
    "↓ jump to latest",
  );
  /** Rows listed while scrolled up. */
  private newRows = 0;

  constructor(private readonly list: VirtualList) {
    this.el.hidden = true;
    this.el.addEventListener("click", () => list.jumpToEnd());
    list.onFollowChange = (following) => {
      this.el.hidden = following;
      if (following) this.count(-this.newRows);
    };
  }

  /** `added` rows were listed at the end. */
  listed(added: number): void {
    if (!this.list.following && added) this.count(added);
  }

  private count(n: number): void {
    this.newRows += n;
    this.el.dataset.new = String(this.newRows);
    setText(this.el, this.newRows ? `↓ ${this.newRows} new` : "↓ jump to latest");
  }
}
