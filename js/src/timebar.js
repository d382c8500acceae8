// The time bar of a time series (4D: fMRI, cine, 4D CT): a slider over the time points, a
// play/pause button and the time point shown, over the bottom of the views. It writes the
// `time` trait; Python sends that time point's voxels only (ViewModel._show_time_point), so
// the player asks for the next time point once the frame it asked for has arrived and been
// drawn, at `fps` at most: a slow kernel or network slows the playback, never queues frames.
// Shown when `_time_points` > 1; `playing` is the play button's state, in Python too.
import { element } from './helpers.js';

// A frame that does not come (Python refused the time point) stops waiting after this long.
const FRAME_TIMEOUT_MS = 10_000;

export class TimeBar {
  /** `model`: the widget's; `change(changes, final)`: set traits (Viewer.change). */
  constructor(model, change) {
    this.model = model;
    this.change = change;
    this.element = element('div', { class: 'voxlite-timebar voxlite-overlay', 'data-control': 'timebar' });
    this.button = element('button', { type: 'button', 'data-control': 'play', title: 'Play or pause' }, '▶');
    this.slider = element('input', {
      type: 'range',
      min: '0',
      step: '1',
      'data-control': 'time',
      'aria-label': 'Time point',
    });
    this.label = element('span', { class: 'voxlite-time-label' });
    this.element.append(this.button, this.slider, this.label);
    this.button.addEventListener('click', () => this.change({ playing: !this.model.get('playing') }, true));
    this.slider.addEventListener('input', () => this.ask(Number(this.slider.value), false));
    this.slider.addEventListener('change', () => this.ask(Number(this.slider.value), true));
    this.waiting = null; // {time, since}: a time point asked for, not arrived yet
    this.timer = null;
    // One event a listener (as viewer.js subscribes): whatever the model's event syntax.
    const follow = () => this.follow();
    this.listeners = [
      ['change:_image', () => this.arrived()],
      ['change:playing', follow],
      ['change:fps', follow],
      ['change:_time_points', follow],
      ['change:time', () => this.update()],
    ];
    for (const [event, callback] of this.listeners) model.on(event, callback);
    this.follow();
  }

  get count() {
    return this.model.get('_time_points') || 1;
  }

  /** Ask Python for time point `time` (its frame arrives as a new `_image`). */
  ask(time, final) {
    if (time === this.model.get('time')) return;
    this.waiting = { time, since: performance.now() };
    this.change({ time }, final);
    this.update();
  }

  /** A frame arrived: the player asks for the next one once it is drawn and its interval is over. */
  arrived() {
    if (!this.waiting) return;
    const elapsed = performance.now() - this.waiting.since;
    this.waiting = null;
    if (this.model.get('playing')) this.schedule(Math.max(0, 1000 / this.fps() - elapsed));
  }

  fps() {
    return Math.min(120, Math.max(0.1, this.model.get('fps') || 10));
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.step(), delay);
  }

  /** The player's next time point (looping), unless a frame is still on its way. */
  step() {
    if (!this.model.get('playing') || this.count < 2) return;
    if (this.waiting && performance.now() - this.waiting.since < FRAME_TIMEOUT_MS) return;
    this.ask(((this.model.get('time') || 0) + 1) % this.count, true);
  }

  /** Start or stop playing, show or hide the bar (a new image, fps, playing). */
  follow() {
    clearTimeout(this.timer);
    if (this.model.get('playing') && this.count > 1 && !this.waiting) this.schedule(1000 / this.fps());
    this.update();
  }

  update() {
    const count = this.count;
    this.element.hidden = count < 2;
    const time = this.model.get('time') || 0;
    this.slider.max = String(Math.max(count - 1, 0));
    if (!this.waiting) this.slider.value = String(time);
    const playing = !!this.model.get('playing');
    this.button.textContent = playing ? '❚❚' : '▶';
    this.button.setAttribute('aria-pressed', String(playing));
    this.label.textContent = `${time + 1} / ${count}`;
    this.element.dataset.time = String(time);
  }

  destroy() {
    clearTimeout(this.timer);
    for (const [event, callback] of this.listeners) this.model.off(event, callback);
    this.element.remove();
  }
}
