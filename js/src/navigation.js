// Navigation in the 2D views: what their gestures (gestures.js) and the arrow keys do to the
// model (the cursor and slices, window/level, rulers) and to the view's own camera (pan,
// zoom). The table of gestures is in docs/views.md.
import { shownImage } from './helpers.js';

// Right-drag: the window widens, the level rises, by the image's value range per this many pixels.
const WINDOW_DRAG_PIXELS = 600;
const KEY_STEPS = { ArrowUp: 1, ArrowRight: 1, PageUp: 1, ArrowDown: -1, ArrowLeft: -1, PageDown: -1 };

export class Navigation {
  constructor(viewer) {
    this.viewer = viewer;
    this.tool = null; // 'ruler' while the ruler tool is on
    this.hovered = null; // {view, x, y}: the mouse over a 2D view
    this.focused = null; // the 2D view last used (arrow keys step it when the mouse is elsewhere)
    this.windowStart = null; // window/level when a right-drag started
    this.rulerStart = null; // the first end of the ruler being drawn
  }

  /** The gestures of a 2D view, as changes to the model and to the view's own camera. */
  intents(view) {
    const scene = view.scene;
    const redraw = () => this.viewer.draw();
    return {
      focus: () => {
        this.focused = view;
        this.viewer.root.focus({ preventScroll: true });
      },
      measuring: () => this.tool === 'ruler',
      hover: (x, y) => {
        this.hovered = { view, x, y };
        this.viewer.showReadout();
      },
      leave: () => {
        this.hovered = null;
        this.viewer.showReadout();
      },
      point: (x, y, phase) => {
        const point = scene.toWorld(x, y);
        if (point) this.viewer.moveCursor(point, phase === 'end');
      },
      measure: (x, y, phase) => this.measure(view, x, y, phase),
      window: (dx, dy, phase) => this.dragWindow(dx, dy, phase),
      pan: (dx, dy) => {
        scene.panBy(dx, dy);
        redraw();
      },
      zoom: (factor, x, y) => {
        scene.zoomBy(factor, x, y);
        redraw();
      },
      step: (steps) => this.step(view, steps),
      reset: () => this.viewer.resetView(view),
    };
  }

  step(view, steps) {
    if (!view.scene.orientation || !view.scene.fullGrid) return;
    this.focused = view;
    this.viewer.setSlices(view.scene.stepped(this.viewer.model.get('slices'), steps), false);
  }

  /** Right-drag: window with the horizontal motion, level with the vertical (pixels since the start). */
  dragWindow(dx, dy, phase) {
    const image = shownImage(this.viewer.model, this.viewer);
    if (!image?.range) return;
    if (phase === 'start' || !this.windowStart) {
      this.windowStart = { window: this.viewer.model.get('window'), level: this.viewer.model.get('level') };
    }
    const [low, high] = image.range;
    const perPixel = Math.max(high - low, 1e-6) / WINDOW_DRAG_PIXELS;
    const { window, level } = this.windowStart;
    this.viewer.change(
      { window: Math.max(window + dx * perPixel, 1e-6), level: level - dy * perPixel },
      phase === 'end',
    );
    if (phase === 'end') this.windowStart = null;
  }

  /** The ruler tool's drag: a line while it moves, a measurement when it ends. */
  measure(view, x, y, phase) {
    const point = view.scene.toWorld(x, y);
    if (!point) return;
    if (phase === 'start' || !this.rulerStart) this.rulerStart = point;
    const points = [this.rulerStart, point];
    const long = Math.hypot(...point.map((v, i) => v - this.rulerStart[i])) > 0;
    if (phase !== 'end') {
      view.scene.setDraft(points);
      this.viewer.draw();
      return;
    }
    this.rulerStart = null;
    view.scene.setDraft(null);
    if (long) {
      const ruler = { kind: 'ruler', points, view: view.name };
      this.viewer.commit({ measurements: [...(this.viewer.model.get('measurements') || []), ruler] });
    }
    this.viewer.draw();
  }

  keyDown(event) {
    const steps = KEY_STEPS[event.key];
    if (!steps || event.target.closest?.('.voxlite-panel')) return;
    const { views, main } = this.viewer;
    const shown = (v) => v && views.includes(v) && v !== main;
    const view = [this.hovered?.view, this.focused, ...views].find(shown);
    if (!view) return;
    event.preventDefault();
    event.stopPropagation();
    this.step(view, steps * (event.shiftKey ? 10 : 1));
  }
}
