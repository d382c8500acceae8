// The panel's comparison of two images (voxlite.compare): the method, the blend's mix and
// the checkerboard's square size. Python composes what each needs (comparison.py): the
// checkerboard as one image (a new `_image` when the size changes), the colour pairs and
// the blend as two channels (the mix is their opacities, in `channels`), which every view
// composes like any channels (kinds.js). So the page only writes the three traits.
import { element } from './helpers.js';

/** The methods of voxlite.comparison.METHODS, as the panel names them. */
const METHODS = {
  checkerboard: 'Checkerboard',
  blend: 'Blend',
  'green-magenta': 'Green-magenta',
  'cyan-magenta': 'Cyan-magenta',
  'cyan-red': 'Cyan-red',
};
const MAX_CHECKER = 256; // the slider's end (Python takes up to 4096 voxels)

/** What the compare controls show of a model. */
export function compareState(model) {
  const image = model.get('_image');
  const shape = image?.full?.shape || image?.shape || [1, 1, 1];
  return {
    method: model.get('compare_method') || '',
    mix: model.get('image_mix') ?? 0.5,
    checker: model.get('checker') ?? 8,
    largest: Math.max(...shape),
  };
}

function range(name, label, onChange) {
  const row = element('label', { class: 'voxlite-row' });
  const input = element('input', { type: 'range', 'data-control': name, 'aria-label': label });
  const value = element('span', { class: 'voxlite-compare-value' });
  input.addEventListener('change', () => onChange(Number(input.value)));
  input.addEventListener('input', () => {
    value.textContent = input.value;
  });
  row.append(element('span', {}, label), input, value);
  return { row, input, value };
}

/** `actions.set(trait, value)`; returns {element, update(compareState)}. */
export function createComparePanel(actions) {
  const box = element('div', { class: 'voxlite-compare', 'data-control': 'compare' });
  const method = element('select', { 'data-control': 'compare_method', 'aria-label': 'How the images are compared' });
  for (const [value, label] of Object.entries(METHODS)) method.append(element('option', { value }, label));
  method.addEventListener('change', () => actions.set('compare_method', method.value));
  const heading = element('div', { class: 'voxlite-legend-heading' });
  heading.append(element('span', {}, 'Compare'), method);
  const mix = range('image_mix', 'Mix', (v) => actions.set('image_mix', Math.min(Math.max(v, 0), 1)));
  mix.input.min = '0';
  mix.input.max = '1';
  mix.input.step = '0.01';
  const checker = range('checker', 'Squares', (v) => actions.set('checker', Math.max(1, Math.round(v))));
  checker.input.min = '1';
  checker.input.step = '1';
  box.append(heading, mix.row, checker.row);
  return {
    element: box,
    update(state) {
      box.hidden = !state.method;
      if (!state.method) return;
      method.value = state.method;
      mix.row.hidden = state.method !== 'blend';
      checker.row.hidden = state.method !== 'checkerboard';
      mix.input.value = String(state.mix);
      mix.value.textContent = String(state.mix);
      checker.input.max = String(Math.min(MAX_CHECKER, Math.max(2, state.largest)));
      checker.input.value = String(state.checker);
      checker.value.textContent = `${state.checker} vox`;
    },
  };
}
