// The control panel drawn over the render window. Plain DOM; every text set
// through textContent so that names and metadata are never parsed as HTML.
import { COLORMAPS } from './colormaps.js';
import { element } from './helpers.js';

const MODES = { volume: 'Volume', mip: 'MIP', slices: 'Slices' };
const AXES = ['X', 'Y', 'Z'];

function select(name, options, onChange) {
  const node = element('select', { 'data-control': name, 'aria-label': name });
  for (const [value, label] of Object.entries(options)) {
    node.append(element('option', { value }, label));
  }
  node.addEventListener('change', () => onChange(node.value));
  return node;
}

/** A labelled range slider with a number box; calls onChange(number) as the user moves it. */
function slider(name, label, onChange) {
  const row = element('label', { class: 'voxlite-row' });
  const range = element('input', { type: 'range', 'data-control': name, 'aria-label': label });
  const number = element('input', { type: 'number', 'data-control': `${name}-value`, 'aria-label': `${label} value` });
  row.append(element('span', {}, label), range, number);
  const emit = (value) => {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) onChange(parsed);
  };
  range.addEventListener('input', () => emit(range.value));
  number.addEventListener('change', () => emit(number.value));
  return {
    row,
    set(value, min, max, step) {
      for (const node of [range, number]) {
        if (min !== undefined) node.min = String(min);
        if (max !== undefined) node.max = String(max);
        if (step !== undefined) node.step = String(step);
      }
      range.value = String(value);
      if (document.activeElement !== number) number.value = String(roundForDisplay(value));
    },
  };
}

function roundForDisplay(value) {
  return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(4));
}

/**
 * Build the panel. `actions` receives user intents:
 * set(name, value) for a model trait, resetCamera().
 */
export function createPanel(actions) {
  const panel = element('div', { class: 'voxlite-panel' });
  const header = element('div', { class: 'voxlite-header' });
  const title = element('span', { class: 'voxlite-title' }, 'voxlite');
  const toggle = element('button', { type: 'button', 'data-control': 'collapse', title: 'Show or hide controls' }, '▾');
  header.append(title, toggle);
  const body = element('div', { class: 'voxlite-body' });
  panel.append(header, body);

  const mode = select('mode', MODES, (v) => actions.set('mode', v));
  const cmapOptions = Object.fromEntries(Object.entries(COLORMAPS).map(([k, v]) => [k, v.label]));
  const cmap = select('cmap', cmapOptions, (v) => actions.set('cmap', v));
  const modeRow = element('div', { class: 'voxlite-row' });
  modeRow.append(mode, cmap);

  const window = slider('window', 'Window', (v) => actions.set('window', Math.max(v, 1e-6)));
  const level = slider('level', 'Level', (v) => actions.set('level', v));
  const opacity = slider('opacity', 'Opacity', (v) => actions.set('opacity', Math.min(Math.max(v, 0), 1)));
  const labelOpacity = slider('label_opacity', 'Labels', (v) =>
    actions.set('label_opacity', Math.min(Math.max(v, 0), 1)),
  );
  const slices = AXES.map((axis, i) =>
    slider(`slice-${axis.toLowerCase()}`, `Slice ${axis}`, (v) => actions.setSlice(i, Math.round(v))),
  );

  const reset = element('button', { type: 'button', 'data-control': 'reset-camera' }, 'Reset camera');
  reset.addEventListener('click', () => actions.resetCamera());
  // Local files are read by the browser and handed to Python in this page's kernel.
  const picker = element('input', { type: 'file', multiple: '', hidden: '', 'data-control': 'open-input' });
  picker.addEventListener('change', () => {
    if (picker.files.length) actions.open([...picker.files]);
    picker.value = '';
  });
  const open = element(
    'button',
    { type: 'button', 'data-control': 'open', title: 'Open image files or DICOM slices (or drop them here)' },
    'Open…',
  );
  open.addEventListener('click', () => picker.click());
  const buttons = element('div', { class: 'voxlite-buttons' });
  buttons.append(open, picker, reset);

  // One checkbox per layer (image, labels, point sets, meshes), rebuilt when the layers change.
  const layerBox = element('div', { class: 'voxlite-layers', 'data-control': 'layers' });
  let layerNames = '';
  const layerChecks = new Map();
  function updateLayers(layers) {
    const names = JSON.stringify(layers.map(([name]) => name));
    if (names !== layerNames) {
      layerNames = names;
      layerBox.replaceChildren();
      layerChecks.clear();
      for (const [name] of layers) {
        const row = element('label', { class: 'voxlite-layer' });
        const check = element('input', { type: 'checkbox', 'data-layer': name, 'aria-label': `Show ${name}` });
        check.addEventListener('change', () => actions.setVisible(name, check.checked));
        row.append(check, element('span', {}, name));
        layerBox.append(row);
        layerChecks.set(name, check);
      }
    }
    for (const [name, visible] of layers) layerChecks.get(name).checked = visible;
    layerBox.hidden = layers.length < 2;
  }

  body.append(
    modeRow,
    window.row,
    level.row,
    opacity.row,
    labelOpacity.row,
    ...slices.map((s) => s.row),
    layerBox,
    buttons,
  );
  const info = element('div', { class: 'voxlite-info' });
  body.append(info);

  toggle.addEventListener('click', () => actions.set('ui_collapsed', !panel.classList.contains('collapsed')));

  return {
    panel,
    /** Refresh every control from the model's state (no events fired). */
    update(state) {
      mode.value = state.mode;
      cmap.value = state.cmap;
      const [low, high] = state.range;
      const span = Math.max(high - low, 1e-6);
      const step = state.integer ? 1 : span / 1000;
      window.set(state.window, step, span * 2, step);
      level.set(state.level, low - span / 2, high + span / 2, step);
      opacity.set(state.opacity, 0, 1, 0.01);
      labelOpacity.set(state.label_opacity, 0, 1, 0.01);
      labelOpacity.row.hidden = !state.hasLabels;
      for (const [i, s] of slices.entries()) s.set(state.slices[i], 0, state.size[i] - 1, 1);
      panel.classList.toggle('collapsed', state.ui_collapsed);
      toggle.textContent = state.ui_collapsed ? '▸' : '▾';
      info.textContent = state.info;
      updateLayers(state.layers || []);
    },
  };
}

/** What the panel shows of a model: its state for update(). */
export function panelState(model) {
  const image = model.get('_image');
  const labels = model.get('_labels');
  const shape = image?.shape ? fullGrid(image).shape : [1, 1, 1];
  return {
    mode: model.get('mode'),
    cmap: model.get('cmap'),
    window: model.get('window'),
    level: model.get('level'),
    opacity: model.get('opacity'),
    label_opacity: model.get('label_opacity'),
    slices: model.get('slices'),
    ui_collapsed: model.get('ui_collapsed'),
    range: image?.range || [0, 1],
    integer: image?.dtype && !image.dtype.startsWith('float'),
    size: [shape[2], shape[1], shape[0]],
    hasLabels: !!labels?.shape,
    info: describe(image),
    layers: layerList(model),
  };
}

/** The full-resolution grid an image payload stands for (itself, unless it is a level). */
function fullGrid(image) {
  return image.full || image;
}

function describe(image) {
  if (!image?.shape) return 'No image';
  const full = fullGrid(image);
  const size = (shape) => [...shape].reverse().join(' × ');
  const spacing = full.spacing.map((s) => Number(s.toPrecision(3))).join(' × ');
  const [low, high] = image.range;
  const name = image.name ? `${image.name}\n` : '';
  const level = image.level && image.level !== 'full' ? `\nvolume shown at ${size(image.shape)} (${image.level})` : '';
  const range = `range ${Number(low.toPrecision(4))} … ${Number(high.toPrecision(4))}`;
  return `${name}${size(full.shape)} ${image.dtype}, spacing ${spacing}\n${range}${level}`;
}

/** [name, visible] for every layer present, in drawing order. */
function layerList(model) {
  const settings = model.get('layers') || {};
  const image = model.get('_image');
  const labels = model.get('_labels');
  const names = [
    ...(image?.shape ? ['image'] : []),
    ...(labels?.shape ? ['labels'] : []),
    ...(model.get('_geometries') || []).map((layer) => layer.name),
  ];
  return names.map((name) => [name, settings[name]?.visible !== false]);
}

export const PANEL_CSS = `
.voxlite-root { position: relative; width: 100%; overflow: hidden; font: 12px system-ui, sans-serif; }
.voxlite-canvas { position: absolute; inset: 0; }
.voxlite-panel { position: absolute; top: 6px; left: 6px; width: 230px; padding: 4px 6px;
  background: rgba(20, 22, 26, 0.78); color: #e8e8e8; border-radius: 4px; z-index: 2; }
.voxlite-panel.collapsed { width: auto; }
.voxlite-panel.collapsed .voxlite-body { display: none; }
.voxlite-header { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.voxlite-title { font-weight: 600; }
.voxlite-panel button { background: #3a3f47; color: #eee; border: 1px solid #555; border-radius: 3px; cursor: pointer; }
.voxlite-row { display: grid; grid-template-columns: 52px 1fr 58px; align-items: center; gap: 4px; margin: 3px 0; }
.voxlite-row:first-child { grid-template-columns: 1fr 1fr; }
.voxlite-row[hidden] { display: none; }
.voxlite-row input[type=number] { width: 54px; background: #222; color: #eee; border: 1px solid #555; }
.voxlite-panel select { background: #222; color: #eee; border: 1px solid #555; }
.voxlite-info { margin-top: 4px; color: #aab; white-space: pre-wrap; overflow-wrap: anywhere; }
.voxlite-buttons { display: flex; gap: 6px; }
.voxlite-layers { display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 4px 0; }
.voxlite-layers[hidden] { display: none; }
.voxlite-layer { display: flex; align-items: center; gap: 3px; overflow-wrap: anywhere; }
.voxlite-root.dropping { outline: 3px dashed #6af; outline-offset: -3px; }
.voxlite-message { position: absolute; inset: auto 6px 6px 6px; color: #fbb; z-index: 3; white-space: pre-wrap; }
.voxlite-progress { position: absolute; left: 6px; bottom: 6px; width: 220px; z-index: 3; color: #ddd;
  font: 11px sans-serif; background: rgba(0, 0, 0, 0.55); border-radius: 3px; padding: 3px 6px; }
.voxlite-progress[hidden] { display: none; }
.voxlite-progress-bar { height: 3px; background: #4aa3ff; margin-bottom: 2px; transition: width 0.2s; }
`;
