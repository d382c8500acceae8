// The label legend of the panel: how 2D views draw labels (outline or filled), then a row
// per label present: its colour, its name (label_names', else "label N"), a checkbox that
// shows or hides it (hidden_labels) and "only", which hides every other label (again: all
// shown). Names are set as text: they come from files and from anybody's code.
import { element } from './helpers.js';
import { labelName } from './labels.js';

const DISPLAYS = { outline: 'Outline', filled: 'Filled' };

/** `actions.set(trait, value)`; returns {element, update({table, names, hidden, display})}. */
export function createLegend(actions) {
  const box = element('div', { class: 'voxlite-legend', 'data-control': 'legend' });
  const display = element('select', { 'data-control': 'label_display', 'aria-label': 'How 2D views draw labels' });
  for (const [value, text] of Object.entries(DISPLAYS)) display.append(element('option', { value }, text));
  display.addEventListener('change', () => actions.set('label_display', display.value));
  const heading = element('div', { class: 'voxlite-legend-heading' });
  heading.append(element('span', {}, 'Labels in 2D'), display);
  const rows = element('div', { class: 'voxlite-legend-rows' });
  box.append(heading, rows);
  let built = '';
  let labels = [];
  let hidden = new Set();
  const checks = new Map();

  const setHidden = (next) =>
    actions.set(
      'hidden_labels',
      [...next].sort((a, b) => a - b),
    );
  const only = (label) => {
    const others = labels.filter((other) => other !== label);
    const already = !hidden.has(label) && others.every((other) => hidden.has(other));
    setHidden(already ? new Set() : new Set(others));
  };

  function build(table, names) {
    rows.replaceChildren();
    checks.clear();
    for (const [label] of table?.entries || []) {
      const row = element('div', { class: 'voxlite-legend-row', 'data-label': String(label) });
      const name = labelName(names, label);
      const check = element('input', { type: 'checkbox', 'data-label': String(label), 'aria-label': `Show ${name}` });
      check.addEventListener('change', () => {
        const next = new Set(hidden);
        if (check.checked) next.delete(label);
        else next.add(label);
        setHidden(next);
      });
      const swatch = element('span', { class: 'voxlite-swatch' });
      swatch.style.background = table.hex(label);
      const text = element('span', { class: 'voxlite-legend-name', title: `label ${label}` }, name);
      const button = element(
        'button',
        { type: 'button', 'data-only': String(label), title: `Show ${name} only` },
        'only',
      );
      button.addEventListener('click', () => only(label));
      const left = element('label', { class: 'voxlite-legend-label' });
      left.append(check, swatch, text);
      row.append(left, button);
      rows.append(row);
      checks.set(label, check);
    }
  }

  return {
    element: box,
    update({ table, names, hidden: hiddenLabels, display: shownAs }) {
      labels = table ? table.entries.map(([label]) => label) : [];
      hidden = new Set(hiddenLabels || []);
      box.hidden = labels.length === 0;
      const key = JSON.stringify([table?.entries, names]);
      if (key !== built) {
        built = key;
        build(table, names);
      }
      for (const [label, check] of checks) check.checked = !hidden.has(label);
      display.value = shownAs || 'outline';
    },
  };
}
