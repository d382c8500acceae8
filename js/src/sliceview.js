// A 2D view: a cell of the layout with its overlays (the patient letters on its four edges,
// an "oblique" tag, the rulers' lengths), the slice scene drawn over it, and its gestures.
import { bindGestures } from './gestures.js';
import { element } from './helpers.js';
import { SliceScene, VIEW_COLORS } from './slice.js';

const EDGES = ['left', 'right', 'top', 'bottom'];

export class SliceView {
  /** `name`: 'axial', 'coronal' or 'sagittal'; `intents(view)`: its gestures' handlers (gestures.js). */
  constructor(stage, name, { background, intents }) {
    this.name = name;
    this.host = element('div', { class: 'voxlite-view voxlite-slice-view', 'data-view': name });
    this.host.style.setProperty('--view-color', VIEW_COLORS[name]);
    this.letters = Object.fromEntries(
      EDGES.map((edge) => [edge, element('span', { class: 'voxlite-letter voxlite-overlay', 'data-edge': edge })]),
    );
    this.oblique = element('span', { class: 'voxlite-oblique voxlite-overlay', title: 'The slices are tilted' });
    this.oblique.textContent = 'oblique';
    this.oblique.hidden = true;
    this.rulerLabels = element('div', { class: 'voxlite-ruler-labels voxlite-overlay' });
    this.host.append(...Object.values(this.letters), this.oblique, this.rulerLabels);
    this.scene = new SliceScene(stage, name, { background });
    this.gestures = bindGestures(this.host, intents(this));
  }

  /** The cell changed size: the camera fits the image to it. */
  layout() {
    this.scene.setSize(this.host.clientWidth, this.host.clientHeight);
  }

  /** The _orientation trait: the scene's camera, the letters and the oblique tag. */
  setOrientation(orientations) {
    this.scene.setOrientation(orientations);
    const mine = orientations?.[this.name];
    for (const edge of EDGES) this.letters[edge].textContent = mine?.letters?.[edge] || '';
    this.oblique.hidden = !mine?.oblique;
  }

  /** Place the rulers' lengths over their lines (after the camera or the rulers changed). */
  syncOverlay() {
    const scene = this.scene;
    scene.cropShade.sync();
    const shown = scene.orientation && scene.image ? scene.visibleRulers() : [];
    const rulers = [...shown, ...(scene.draft ? [{ points: scene.draft }] : [])];
    const labels = rulers.map(({ points, length }) => {
      const [p, q] = points;
      const mm = length ?? Math.hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]);
      const [x, y] = scene.toPixel(p.map((v, i) => (v + q[i]) / 2));
      const label = element('span', { class: 'voxlite-ruler-label' });
      label.textContent = `${mm.toFixed(mm < 10 ? 2 : 1)} mm`;
      label.style.left = `${x}px`;
      label.style.top = `${y}px`;
      return label;
    });
    this.rulerLabels.replaceChildren(...labels);
  }

  destroy() {
    this.gestures.unbind();
    this.host.remove();
    this.scene.destroy();
  }
}
