// The panel's channels (a multichannel image: fluorescence microscopy, a comparison's two
// images): a row per channel with its visibility, its colour, its name, and its window as
// the low and high ends of its colour ramp. Every change is written back to the `channels`
// trait, which Python checks (checks.channel) and every view follows (kinds.js). Names are
// set as text: they come from files (OME metadata) and from anybody's code.
import { element } from './helpers.js';

/** What the channels panel shows of a model: the settings and each channel's value range. */
export function channelsState(model) {
  const image = model.get('_image');
  return { settings: image?.pixel === 'channels' ? model.get('channels') || [] : [], ranges: image?.ranges || [] };
}

/** `actions.set(trait, value)`; returns {element, update({settings, ranges})}. */
export function createChannelsPanel(actions) {
  const box = element('div', { class: 'voxlite-channels', 'data-control': 'channels' });
  box.append(element('div', { class: 'voxlite-legend-heading' }, 'Channels'));
  const rows = element('div', { class: 'voxlite-channel-rows' });
  box.append(rows);
  let settings = [];
  let controls = [];
  let built = '';

  const edit = (index, changes) => {
    const next = settings.map((setting, i) => (i === index ? { ...setting, ...changes } : setting));
    actions.set('channels', next);
  };

  function build(count) {
    rows.replaceChildren();
    controls = Array.from({ length: count }, (_, index) => {
      const row = element('div', { class: 'voxlite-channel', 'data-channel': String(index) });
      const visible = element('input', { type: 'checkbox', 'data-control': `channel-${index}-visible` });
      visible.addEventListener('change', () => edit(index, { visible: visible.checked }));
      const color = element('input', { type: 'color', 'data-control': `channel-${index}-color` });
      color.addEventListener('change', () => edit(index, { color: color.value }));
      const name = element('span', { class: 'voxlite-legend-name' });
      const head = element('label', { class: 'voxlite-legend-label' });
      head.append(visible, color, name);
      const low = element('input', { type: 'range', 'data-control': `channel-${index}-low` });
      const high = element('input', { type: 'range', 'data-control': `channel-${index}-high` });
      // The ramp's ends: the window between them, the level in their middle.
      const windowFrom = () => {
        const [a, b] = [Number(low.value), Number(high.value)].sort((x, y) => x - y);
        const width = Math.max(b - a, 1e-6);
        edit(index, { window: width, level: a + width / 2 });
      };
      low.addEventListener('change', windowFrom);
      high.addEventListener('change', windowFrom);
      const ramp = element('div', { class: 'voxlite-channel-window' });
      ramp.append(low, high);
      row.append(head, ramp);
      rows.append(row);
      return { visible, color, name, low, high, row };
    });
  }

  return {
    element: box,
    update({ settings: next, ranges }) {
      settings = next || [];
      box.hidden = settings.length === 0;
      if (String(settings.length) !== built) {
        built = String(settings.length);
        build(settings.length);
      }
      settings.forEach((setting, index) => {
        const control = controls[index];
        const [min, max] = ranges[index] || [0, 1];
        const span = Math.max(max - min, 1e-6);
        for (const input of [control.low, control.high]) {
          input.min = String(min - span / 2);
          input.max = String(max + span / 2);
          input.step = String(span / 500);
        }
        control.visible.checked = setting.visible !== false;
        control.color.value = setting.color || '#ffffff';
        control.name.textContent = setting.name || `channel ${index}`;
        control.row.title = `${control.name.textContent}: window ${Number(setting.window?.toPrecision(4))}, level ${Number(setting.level?.toPrecision(4))}`;
        control.low.value = String(setting.level - setting.window / 2);
        control.high.value = String(setting.level + setting.window / 2);
      });
    },
  };
}
