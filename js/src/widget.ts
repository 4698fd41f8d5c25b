/**
 * jpf_widget's view: the anywidget entry. `initialize` (once per model) makes the model's state
 * (`model/state.ts`); `render` (once per view) mounts the components of a view of it
 * (`ui/monitor.ts`). See ../README.md.
 */
import { forgetState, stateOf } from "./model/registry";
import type { Model } from "./types";
import { mountMonitor } from "./ui/monitor";

export default {
  initialize({ model }: { model: Model }) {
    // The model's state; its views find it (and use this model object, whose listeners live as
    // long as the model, not as long as one view).
    const state = stateOf(model);
    return () => forgetState(state);
  },
  render({ model, el }: { model: Model; el: HTMLElement }) {
    const state = stateOf(model);
    state.askHistory();
    if (!state.target()) state.kernels.refresh();
    const dispose = mountMonitor(el, state, model);
    state.views += 1;
    return () => {
      dispose();
      state.views -= 1;
      // its cell was deleted or its output cleared: Python may close the monitor
      if (state.views === 0) model.send({ kind: "views", count: 0 });
    };
  },
};
