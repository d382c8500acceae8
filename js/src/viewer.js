// The front-end half of a voxlite.Viewer: one model, and the root element that shows it
// with its views, control panel and status. The model's traits are the single source of
// truth; the views and the panel follow them through the bindings table (bindings.js).
import { applyAll, BINDINGS } from './bindings.js';
import { FrameLoop } from './frames.js';
import { droppedFiles, element, hexToRgb } from './helpers.js';
import { Status } from './status.js';
import { createPanel, panelState } from './ui.js';
import { View } from './view.js';

export class Viewer {
  constructor(model, el) {
    this.model = model;
    this.root = element('div', { class: 'voxlite-root' });
    this.root.style.height = `${model.get('height')}px`;
    el.appendChild(this.root);
    this.status = new Status(this.root);
    this.main = new View(this.root, {
      background: hexToRgb(model.get('bg_color')),
      hooks: { resized: () => this.draw(), cameraMoved: (camera) => this.cameraMoved(camera) },
    });
    // Every viewport the bindings apply to; 2D slice views would join the 3D one here.
    this.views = [this.main];
    this.frames = new FrameLoop(this.main.scene, this.status, {
      drawn: () => this.askForFinerLevel(),
      report: (picture) => this.sendPicture(picture),
    });
    this.panel = createPanel(this.panelActions());
    this.root.append(...this.status.elements, this.panel.panel);
    acceptDrops(this.root, (files) => this.openFiles(files));
    this.subscriptions = this.subscribe();
    this.guarded(() => applyAll(this, model))();
  }

  /** One listener per event: a change of a trait in the bindings table, or a message from Python. */
  subscribe() {
    const subscriptions = [
      ['msg:custom', (content) => content?.type === 'error' && this.status.error(content.message)],
    ];
    for (const [traits, handler] of Object.entries(BINDINGS)) {
      const callback = this.guarded(() => handler(this, this.model));
      for (const trait of traits.split(' ')) subscriptions.push([`change:${trait}`, callback]);
    }
    for (const [event, callback] of subscriptions) this.model.on(event, callback);
    return subscriptions;
  }

  /** `fn`, then the panel and a new frame follow; an error is shown in the view, not thrown. */
  guarded(fn) {
    return () => {
      try {
        fn();
        this.panel.update(panelState(this.model));
        this.draw();
      } catch (error) {
        this.status.error(error);
      }
    };
  }

  draw() {
    this.frames.request();
  }

  eachScene(fn) {
    for (const view of this.views) fn(view.scene);
  }

  hasContent() {
    return this.views.some((view) => view.scene.hasContent());
  }

  /** The view's own edits: set on the model and sent to Python. */
  commit(changes) {
    for (const [key, value] of Object.entries(changes)) this.model.set(key, value);
    this.model.save_changes();
  }

  panelActions() {
    const model = this.model;
    return {
      set: (key, value) => this.commit({ [key]: value }),
      setVisible: (name, visible) => {
        const layers = model.get('layers') || {};
        this.commit({ layers: { ...layers, [name]: { ...(layers[name] || {}), visible } } });
      },
      setSlice: (axis, index) => {
        const slices = [...model.get('slices')];
        slices[axis] = index;
        this.commit({ slices });
      },
      resetCamera: () => {
        this.main.scene.resetCamera();
        this.draw();
      },
      open: (files) => this.openFiles(files),
    };
  }

  cameraMoved(camera) {
    if (!sameCamera(camera, this.model.get('camera'))) this.commit({ camera });
  }

  /** Local files go to Python in this page's kernel (or the app's worker), which reads them. */
  async openFiles(files) {
    if (!files.length) return;
    this.status.say(`Opening ${files.length === 1 ? files[0].name : `${files.length} files`}…`);
    const buffers = await Promise.all(files.map((file) => file.arrayBuffer()));
    this.model.send({ type: 'open', names: files.map((file) => file.name) }, undefined, buffers);
  }

  // A preview of a large image is on screen: Python computes the finer level now,
  // not earlier, so that the first frame does not share the CPU with it.
  askForFinerLevel() {
    const image = this.model.get('_image');
    if (image?.level !== 'preview' || this.askedFor === image.serial) return;
    this.askedFor = image.serial;
    this.model.send({ type: 'refine', serial: image.serial });
  }

  async sendPicture({ width, height, rgba }) {
    const buffer = await deflate(rgba);
    this.model.send({ type: 'frame', width, height, encoding: 'zlib-rgba' }, undefined, [buffer]);
  }

  destroy() {
    for (const [event, callback] of this.subscriptions) this.model.off(event, callback);
    this.frames.stop();
    for (const view of this.views) view.destroy();
  }
}

function acceptDrops(root, open) {
  root.addEventListener('dragover', (event) => {
    event.preventDefault();
    root.classList.add('dropping');
  });
  root.addEventListener('dragleave', () => root.classList.remove('dropping'));
  root.addEventListener('drop', async (event) => {
    event.preventDefault();
    root.classList.remove('dropping');
    open(await droppedFiles(event.dataTransfer));
  });
}

/** zlib-compress bytes in the browser (Python reads them with zlib.decompress). */
async function deflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Response(stream).arrayBuffer();
}

function sameCamera(a, b) {
  if (!a || !b?.position) return false;
  return ['position', 'focal_point', 'view_up'].every((key) =>
    a[key].every((value, i) => Math.abs(value - b[key][i]) < 1e-6 * (1 + Math.abs(value))),
  );
}
