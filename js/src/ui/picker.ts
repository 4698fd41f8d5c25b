/**
 * The kernel picker: shown while there is no target (and no attach pending), or after "switch
 * kernel". A click on a kernel attaches to it and closes the picker.
 */
import { effect } from "@preact/signals-core";
import { h } from "../dom";
import { buildPicker, toKernels, updatePickerTimes } from "../picker";
import { asString, drawer, type Mount, onModel, pickerShown } from "./view";

export const mountPicker: Mount = (parent, v) => {
  const s = v.s;
  const m = v.model;
  const wrap = h("div", { class: "jpf-pickerwrap" });
  parent.append(wrap);
  const draw = () => {
    const show = pickerShown(v);
    v.root.dataset.picker = show ? "open" : "closed";
    if (!show) {
      wrap.replaceChildren();
      return;
    }
    const panel = buildPicker(
      {
        kernels: toKernels(m.get("kernels")),
        error: asString(m.get("kernels_error")),
        refreshing: s.kernels.refreshing.value,
        current: asString(m.get("kernel_id")),
        closable: s.target() !== "",
        now: Date.now(),
      },
      {
        refresh: () => s.kernels.refresh(),
        attach: (kernelId) => {
          v.pickerOpen.value = false;
          s.kernels.attach(kernelId);
        },
        close: () => {
          v.pickerOpen.value = false;
        },
      },
    );
    wrap.replaceChildren(panel);
  };
  const d = drawer(draw);
  d.now();
  const offTraits = onModel(
    m,
    ["change:kernels", "change:kernels_error", "change:target", "change:kernel_id"],
    d.now,
  );
  const offState = effect(() => {
    v.pickerOpen.value;
    s.kernels.tick.value;
    s.kernels.refreshing.value;
    d.now();
  });
  const failures = s.kernels.failed.peek();
  const offFailed = effect(() => {
    // An attach failed: show the picker again.
    if (s.kernels.failed.value !== failures) v.pickerOpen.value = true;
  });
  const timer = window.setInterval(() => {
    const panel = wrap.firstElementChild;
    if (panel instanceof HTMLElement) updatePickerTimes(panel, Date.now());
  }, 1000);
  return () => {
    offTraits();
    offState();
    offFailed();
    clearInterval(timer);
    d.dispose();
    wrap.remove();
  };
};
