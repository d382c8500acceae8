// Small helpers shared by the widget and by the pages that embed it: the save_html page
// and the viewer app import them from the bundle, so that each exists once.

/** A new element with attributes and text; the text is set as textContent, never parsed as HTML. */
export function element(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

/** The image the views show: a stream's volume (`viewer.stream`), else the `_image` trait's. */
export function shownImage(model, viewer) {
  return viewer?.stream?.volume || model.get('_image');
}

/** [r, g, b] (0..1) of a '#rrggbb' colour; `fallback` for anything else (a saved page can be edited). */
export function hexToRgb(hex, fallback = [0, 0, 0]) {
  const value = /^#?([0-9a-f]{6})$/i.exec(hex || '');
  if (!value) return fallback;
  const n = parseInt(value[1], 16);
  return [(n >> 16) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
}

/** The files of a drop, folders (a DICOM series) walked recursively. */
export async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.());
  if (!entries.some(Boolean)) return [...dataTransfer.files];
  const files = [];
  const walk = async (entry) => {
    if (!entry) return;
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}
