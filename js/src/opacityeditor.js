// The transfer-function editor of the panel: the image's histogram (log scale) with the
// volume's opacity curve over it, its points dragged, added (click) and removed (double
// click, or dragged out above or below), the current colormap's colour bar under it, a
// gradient-opacity toggle, and the crop box's buttons. Two-way with the `opacity_points`
// trait ([value, opacity] in the image's units; empty: the colormap preset's curve over the
// window, drawn dashed, which the first edit turns into points).
//
// The histogram is counted here, from the voxels the page already holds (the level shown):
// no second copy crosses the wire, and a lazy image is not read whole in the kernel for it.
import { colorFunction, presetOpacityPoints } from './colormaps.js';
import { element, shownImage } from './helpers.js';
import { voxelsOf } from './volumes.js';

const WIDTH = 216; // CSS pixels of the drawing (it stretches to the panel's width)
const HEIGHT = 72;
const BAR_HEIGHT = 10;
const PAD = 5; // pixels around the plot, so that end points can be grabbed
const HIT_PIXELS = 7;
// A point dragged this far above or below the plot is removed when released.
const REMOVE_PIXELS = 24;
const MAX_POINTS = 64; // as the view model takes (voxlite.checks.MAX_OPACITY_POINTS)
const MAX_SAMPLES = 1 << 21; // voxels counted at most (evenly strided beyond)
const GRADIENT_DEFAULT = 0.5;

export const EDITOR_STYLE = `
.voxlite-tf { margin: 4px 0; }
.voxlite-tf[hidden] { display: none; }
.voxlite-tf-heading { display: flex; justify-content: space-between; align-items: center; color: #aab; margin-bottom: 2px; }
.voxlite-tf-heading label { display: flex; align-items: center; gap: 3px; }
.voxlite-tf canvas { display: block; width: 100%; touch-action: none; }
.voxlite-tf canvas[data-control=opacity-editor] { height: ${HEIGHT}px; cursor: crosshair; border: 1px solid #444; box-sizing: border-box; }
.voxlite-tf canvas[data-control=colorbar] { height: ${BAR_HEIGHT}px; margin: 2px 0 4px; }
`;

const histograms = new WeakMap(); // payload.data -> counts

/** Counts of the image's values in `bins` bins over its range (cached per received volume). */
export function histogram(volume, bins) {
  const known = histograms.get(volume.data);
  if (known?.length === bins) return known;
  const values = voxelsOf(volume);
  const [low, high] = volume.range;
  const scale = bins / Math.max(high - low, 1e-12);
  const stride = Math.max(1, Math.ceil(values.length / MAX_SAMPLES));
  const counts = new Float64Array(bins);
  for (let i = 0; i < values.length; i += stride) {
    const bin = Math.floor((values[i] - low) * scale);
    counts[bin < 0 ? 0 : bin >= bins ? bins - 1 : bin] += 1;
  }
  histograms.set(volume.data, counts);
  return counts;
}

/** The curve of `points` over [low, high]: the points inside, and its values at both ends. */
export function curveOnDomain(points, low, high) {
  const at = (value) => {
    if (value <= points[0][0]) return points[0][1];
    if (value >= points.at(-1)[0]) return points.at(-1)[1];
    const next = points.findIndex(([v]) => v > value);
    const [[v0, a0], [v1, a1]] = [points[next - 1], points[next]];
    return a0 + ((a1 - a0) * (value - v0)) / (v1 - v0 || 1);
  };
  const inside = points.filter(([v]) => v > low && v < high);
  return [[low, at(low)], ...inside, [high, at(high)]];
}

/** What the editor shows of a model. */
export function editorState(model, viewer = {}) {
  const image = shownImage(model, viewer);
  return {
    image: image?.shape && (!image.pixel || image.pixel === 'scalar') ? image : null,
    points: model.get('opacity_points') || [],
    preset: model.get('cmap'),
    window: model.get('window'),
    level: model.get('level'),
    mode: model.get('mode'),
    gradient: model.get('gradient_opacity') || 0,
    crop: model.get('crop') || {},
    cropTool: !!viewer.cropTool,
  };
}

/**
 * The editor section. `actions.change(key, value, final)` sets a trait while a point moves
 * (Python hears of it within a moment, and at once when final); `actions.set(key, value)`;
 * `actions.setCropTool(on)`.
 */
export function createOpacityEditor(actions) {
  const section = element('div', { class: 'voxlite-tf', 'data-control': 'transfer-function' });
  const heading = element('div', { class: 'voxlite-tf-heading' });
  const title = element('span', {}, 'Opacity');
  const edges = element('label', { title: 'Gradient opacity: homogeneous regions fade, edges stay' });
  const gradient = element('input', { type: 'checkbox', 'data-control': 'gradient-toggle' });
  edges.append(gradient, element('span', {}, 'Edges'));
  heading.append(title, edges);
  const ratio = Math.max(1, Math.round(window.devicePixelRatio || 1));
  const plot = element('canvas', { 'data-control': 'opacity-editor', width: WIDTH * ratio, height: HEIGHT * ratio });
  plot.setAttribute(
    'aria-label',
    'Opacity points over the histogram: click to add, drag to move, double-click to remove',
  );
  const bar = element('canvas', { 'data-control': 'colorbar', width: WIDTH * ratio, height: BAR_HEIGHT * ratio });
  const cropTool = element(
    'button',
    {
      type: 'button',
      'data-control': 'crop-tool',
      'aria-pressed': 'false',
      title: 'Drag the faces of the crop box in the 3D view',
    },
    'Crop',
  );
  const resetCrop = element('button', { type: 'button', 'data-control': 'reset-crop' }, 'Uncrop');
  const resetCurve = element(
    'button',
    { type: 'button', 'data-control': 'reset-opacity', title: "The colormap's own opacity curve" },
    'Preset curve',
  );
  const buttons = element('div', { class: 'voxlite-buttons' });
  buttons.append(cropTool, resetCrop, resetCurve);
  section.append(heading, plot, bar, buttons);

  let state = null;
  let drag = null; // {points, index, removing}
  let lastGradient = GRADIENT_DEFAULT;
  const drawn = { key: '', image: null };

  const domain = () => {
    const [low, high] = state.image.range;
    return high > low ? [low, high] : [low - 0.5, low + 0.5];
  };
  const toX = (value) => {
    const [low, high] = domain();
    return PAD + ((value - low) / (high - low)) * (WIDTH - 2 * PAD);
  };
  const toY = (opacity) => PAD + (1 - opacity) * (HEIGHT - 2 * PAD);
  const fromX = (x) => {
    const [low, high] = domain();
    return low + ((x - PAD) / (WIDTH - 2 * PAD)) * (high - low);
  };
  const fromY = (y) => 1 - (y - PAD) / (HEIGHT - 2 * PAD);
  const presetPoints = () => {
    const { preset, window: width, level } = state;
    return presetOpacityPoints(preset, level - width / 2, level + width / 2);
  };
  /** The points being edited: the trait's, or the preset's curve made into points. */
  const editable = () =>
    state.points.length ? state.points.map((p) => [...p]) : curveOnDomain(presetPoints(), ...domain());
  const position = (event) => {
    const box = plot.getBoundingClientRect();
    return [((event.clientX - box.left) * WIDTH) / box.width, ((event.clientY - box.top) * HEIGHT) / box.height];
  };
  const hit = (points, x, y) => {
    let best = -1;
    let distance = HIT_PIXELS;
    points.forEach(([v, a], i) => {
      const d = Math.hypot(toX(v) - x, toY(a) - y);
      if (d <= distance) [best, distance] = [i, d];
    });
    return best;
  };
  const rounded = (points) => points.map(([v, a]) => [Number(v.toPrecision(7)), Math.round(a * 1e4) / 1e4]);
  const sent = () => rounded(drag.removing ? drag.points.filter((_, i) => i !== drag.index) : drag.points);

  plot.addEventListener('pointerdown', (event) => {
    if (!state?.image || event.button !== 0) return;
    event.preventDefault();
    const [x, y] = position(event);
    const points = editable();
    let index = hit(points, x, y);
    if (index < 0) {
      if (points.length >= MAX_POINTS) return;
      const value = fromX(Math.min(Math.max(x, PAD), WIDTH - PAD));
      index = points.findIndex(([v]) => v > value);
      index = index < 0 ? points.length : index;
      points.splice(index, 0, [value, Math.min(Math.max(fromY(y), 0), 1)]);
      drag = { points, index, removing: false };
      actions.change('opacity_points', sent(), false);
    } else drag = { points, index, removing: false };
    plot.setPointerCapture?.(event.pointerId);
  });
  plot.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const [x, y] = position(event);
    const { points, index } = drag;
    const [low, high] = domain();
    const gap = (high - low) * 1e-4;
    const floor = index > 0 ? points[index - 1][0] + gap : low;
    const ceiling = index < points.length - 1 ? points[index + 1][0] - gap : high;
    points[index] = [Math.min(Math.max(fromX(x), floor), ceiling), Math.min(Math.max(fromY(y), 0), 1)];
    drag.removing = y < -REMOVE_PIXELS || y > HEIGHT + REMOVE_PIXELS;
    actions.change('opacity_points', sent(), false);
  });
  const release = () => {
    if (!drag) return;
    const points = sent();
    drag = null;
    actions.change('opacity_points', points, true);
  };
  plot.addEventListener('pointerup', release);
  plot.addEventListener('pointercancel', release);
  plot.addEventListener('dblclick', (event) => {
    if (!state?.image) return;
    const [x, y] = position(event);
    const points = editable();
    const index = hit(points, x, y);
    if (index >= 0) actions.set('opacity_points', rounded(points.filter((_, i) => i !== index)));
  });
  gradient.addEventListener('change', () => actions.set('gradient_opacity', gradient.checked ? lastGradient : 0));
  cropTool.addEventListener('click', () => actions.setCropTool(!state?.cropTool));
  resetCrop.addEventListener('click', () => actions.set('crop', {}));
  resetCurve.addEventListener('click', () => actions.set('opacity_points', []));

  function drawPlot() {
    const context = plot.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = '#101216';
    context.fillRect(0, 0, WIDTH, HEIGHT);
    const bins = WIDTH - 2 * PAD;
    const counts = histogram(state.image, bins);
    const top = Math.log1p(Math.max(...counts));
    context.fillStyle = '#4a5060';
    counts.forEach((count, i) => {
      const height = (Math.log1p(count) / (top || 1)) * (HEIGHT - 2 * PAD);
      context.fillRect(PAD + i, HEIGHT - PAD - height, 1, height);
    });
    const explicit = state.points.length > 0;
    const points = drag ? drag.points : explicit ? state.points : curveOnDomain(presetPoints(), ...domain());
    context.globalAlpha = state.mode === 'volume' ? 1 : 0.45; // points shape volume rendering only
    context.strokeStyle = '#f0f0f0';
    context.lineWidth = 1.5;
    context.setLineDash(explicit || drag ? [] : [4, 3]);
    context.beginPath();
    context.moveTo(PAD, toY(points[0][1]));
    for (const [v, a] of points) context.lineTo(toX(v), toY(a));
    context.lineTo(WIDTH - PAD, toY(points.at(-1)[1]));
    context.stroke();
    context.setLineDash([]);
    points.forEach(([v, a], i) => {
      const removing = drag?.removing && i === drag.index;
      context.beginPath();
      context.arc(toX(v), toY(a), 3.5, 0, 2 * Math.PI);
      context.fillStyle = removing ? '#ff5a5a' : explicit || drag ? '#ffffff' : '#101216';
      context.fill();
      context.stroke();
    });
    context.globalAlpha = 1;
  }

  function drawBar() {
    const context = bar.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    const { preset, window: width, level } = state;
    const colors = colorFunction(preset, level - width / 2, level + width / 2);
    const rgb = [0, 0, 0];
    for (let x = 0; x < WIDTH; x += 1) {
      colors.getColor(fromX(x + 0.5), rgb);
      context.fillStyle = `rgb(${rgb.map((c) => Math.round(255 * c)).join(',')})`;
      context.fillRect(x, 0, 1, BAR_HEIGHT);
    }
  }

  return {
    element: section,
    /** Redraw from the model's state (editorState). */
    update(next) {
      state = next;
      section.hidden = !state.image;
      if (state.gradient > 0) lastGradient = state.gradient;
      gradient.checked = state.gradient > 0;
      title.textContent = state.mode === 'volume' ? 'Opacity' : 'Opacity (volume mode)';
      cropTool.setAttribute('aria-pressed', String(state.cropTool));
      cropTool.classList.toggle('active', state.cropTool);
      resetCrop.hidden = !state.crop.min;
      resetCurve.hidden = !state.points.length;
      if (!state.image) return;
      const key = JSON.stringify([state.points, state.preset, state.window, state.level, state.mode, !!drag]);
      if (!drag && key === drawn.key && state.image === drawn.image) return; // the panel refreshes often
      Object.assign(drawn, { key, image: state.image });
      drawPlot();
      drawBar();
    },
  };
}
