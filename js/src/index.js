// voxlite's front end. Its default export is anywidget's entry point, render({ model, el }).
// The named exports serve the pages that run it without a kernel (the save_html page, the
// viewer app), so that they share the widget's model contract and helpers:
//   createLocalModel(initialState, { send(content, buffers), save(changes, state), local })
//     -> { get, set, on, off, send, save_changes, update(changes), message(content, buffers) }
//   element(tag, attributes, text), hexToRgb(hex, fallback), droppedFiles(dataTransfer)
import { STYLE } from './style.js';
import { Viewer } from './viewer.js';

export { droppedFiles, element, hexToRgb } from './helpers.js';
export { createLocalModel } from './model.js';

const STYLE_ID = 'voxlite-style';

/** The widget's style, once per document (or shadow root). */
function ensureStyle(el) {
  const root = el.getRootNode();
  const host = root.head || root;
  if (host.querySelector?.(`#${STYLE_ID}`)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = STYLE;
  host.appendChild(style);
}

/** Show `model` in `el`; returns the clean-up that anywidget calls when the view goes. */
function render({ model, el }) {
  ensureStyle(el);
  const viewer = new Viewer(model, el);
  return () => viewer.destroy();
}

export default { render };
