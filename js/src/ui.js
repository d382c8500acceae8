// The control panel, beside the views or over them. Plain DOM; every text set
// through textContent so that names and metadata are never parsed as HTML.
import { channelsState, createChannelsPanel } from './channelspanel.js';
import { COLORMAPS } from './colormaps.js';
import { compareState, createComparePanel } from './comparepanel.js';
import { element, shownImage } from './helpers.js';
import { describeKind } from './kinds.js';
import { createLegend } from './legend.js';
import { createOpacityEditor, editorState } from './opacityeditor.js';

const MODES = { volume: 'Volume', mip: 'MIP', slices: 'Slices' };
const VIEWS = { quad: 'Quad', row: 'Row', '3d': '3D', axial: 'Axial', coronal: 'Coronal', sagittal: 'Sagittal' };
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
  // A number applies on Enter as well as when the box loses focus.
  number.addEventListener('change', () => emit(number.value));
  number.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') emit(number.value);
  });
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
  const modeRow = element('div', { class: 'voxlite-row voxlite-pair' });
  modeRow.append(mode, cmap);
  const views = select('views', VIEWS, (v) => actions.set('views', v));
  views.title = 'Layout of the views';
  const ruler = element(
    'button',
    { type: 'button', 'data-control': 'ruler', 'aria-pressed': 'false', title: 'Drag in a 2D view to measure' },
    'Ruler',
  );
  ruler.addEventListener('click', () =>
    actions.setTool(ruler.getAttribute('aria-pressed') === 'true' ? null : 'ruler'),
  );
  const clear = element('button', { type: 'button', 'data-control': 'clear-rulers' }, 'Clear rulers');
  clear.addEventListener('click', () => actions.set('measurements', []));
  const viewsRow = element('div', { class: 'voxlite-row voxlite-pair' });
  viewsRow.append(views, ruler);

  const window = slider('window', 'Window', (v) => actions.set('window', Math.max(v, 1e-6)));
  const level = slider('level', 'Level', (v) => actions.set('level', v));
  const opacity = slider('opacity', 'Opacity', (v) => actions.set('opacity', Math.min(Math.max(v, 0), 1)));
  const labelOpacity = slider('label_opacity', 'Labels', (v) =>
    actions.set('label_opacity', Math.min(Math.max(v, 0), 1)),
  );
  const slices = AXES.map((axis, i) =>
    slider(`slice-${axis.toLowerCase()}`, `Slice ${axis}`, (v) => actions.setSlice(i, Math.round(v))),
  );

  const reset = element(
    'button',
    { type: 'button', 'data-control': 'reset-camera', title: 'Reset the 3D camera and fit the 2D views' },
    'Reset views',
  );
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
  buttons.append(open, picker, reset, clear);
  const legend = createLegend(actions);
  const channels = createChannelsPanel(actions);
  const compare = createComparePanel(actions);
  const transfer = createOpacityEditor(actions);

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
    viewsRow,
    window.row,
    level.row,
    opacity.row,
    labelOpacity.row,
    ...slices.map((s) => s.row),
    layerBox,
    compare.element,
    channels.element,
    transfer.element,
    legend.element,
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
      // Colour is its bytes, channels have a window each: no colormap nor window of the image.
      for (const control of [window.row, level.row, cmap]) control.hidden = state.pixel !== 'scalar';
      for (const [i, s] of slices.entries()) {
        s.set(state.slices[i], 0, state.size[i] - 1, 1);
        s.row.hidden = state.size[i] < 2; // a 2D image has no slices across it
      }
      panel.classList.toggle('collapsed', state.ui_collapsed);
      toggle.textContent = state.ui_collapsed ? '▸' : '▾';
      info.textContent = state.info;
      updateLayers(state.layers || []);
      views.value = state.views;
      ruler.setAttribute('aria-pressed', String(state.tool === 'ruler'));
      ruler.classList.toggle('active', state.tool === 'ruler');
      clear.hidden = !state.rulers;
      legend.update(state.legend);
      channels.update(state.channels);
      compare.update(state.compare);
      transfer.update(state.transfer);
    },
  };
}

/** What the panel shows of a model (and of the viewer's own state: its tool, its label table). */
export function panelState(model, viewer = {}) {
  const image = shownImage(model, viewer);
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
    views: model.get('views') || 'quad',
    tool: viewer.navigation?.tool || null,
    rulers: (model.get('measurements') || []).length,
    pixel: image?.pixel || 'scalar',
    channels: channelsState(model),
    compare: compareState(model),
    legend: {
      table: labels?.shape ? viewer.labelTable : null,
      names: model.get('label_names') || {},
      hidden: model.get('hidden_labels') || [],
      display: model.get('label_display'),
    },
    transfer: editorState(model, viewer),
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
  const kind = describeKind(image) ? `\n${describeKind(image)}` : '';
  return `${name}${size(full.shape)} ${image.dtype}, spacing ${spacing}\n${range}${level}${kind}`;
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
