// The front-end half of a voxlite.Viewer: one model, and the root element that shows it
// with its views (laid out by the `views` trait over one render window), control panel,
// readout and status. The model's traits are the single source of truth; the views and the
// panel follow them through the bindings table (bindings.js). Gestures set traits locally at
// once (the picture follows without waiting for Python) and send them to Python.
import { applyAll, BINDINGS } from './bindings.js';
import { FrameLoop } from './frames.js';
import { droppedFiles, element, hexToRgb } from './helpers.js';
import { applyGrid, arrange } from './layout.js';
import { Navigation } from './navigation.js';
import { Probe, Readout } from './readout.js';
import { SliceView } from './sliceview.js';
import { Stage } from './stage.js';
import { Status } from './status.js';
import { Stream } from './stream/stream.js';
import { TimeBar } from './timebar.js';
import { createPanel, panelState } from './ui.js';
import { View3D } from './view.js';
import { voxelOf } from './volumes.js';

// The panel docks beside the views (instead of floating over them) in a root this wide.
const DOCK_WIDTH = 640;
// While a gesture moves, what it set reaches Python at most this often (and when it ends).
const SAVE_INTERVAL_MS = 150;

export class Viewer {
  constructor(model, el) {
    this.model = model;
    this.root = element('div', {
      class: 'voxlite-root',
      tabindex: '0', // keys go to the views, and stay in the widget
      'data-jp-suppress-context-menu': '', // right-drag is window/level, not JupyterLab's menu
      'data-lm-suppress-shortcuts': 'true', // arrow keys step slices, not notebook cells
    });
    this.root.style.height = `${model.get('height')}px`;
    this.root.voxliteViewer = this; // for scripting and tests
    el.appendChild(this.root);
    this.status = new Status(this.root);
    this.area = element('div', { class: 'voxlite-canvas' }); // the views' area: the canvas, and a cell per view
    this.root.append(this.area);
    this.stage = new Stage(this.area);
    this.cells = element('div', { class: 'voxlite-views' });
    this.readout = new Readout();
    this.timebar = new TimeBar(model, (changes, final) => this.change(changes, final));
    this.area.append(this.cells, this.readout.element, this.timebar.element);
    this.area.addEventListener('contextmenu', (event) => event.preventDefault());
    this.probe = new Probe();
    this.views = [];
    this.main = null; // the 3D view, when the layout has it
    this.scope = null; // the views the bindings apply to, when not all (new views)
    this.navigation = new Navigation(this);
    this.saveTimer = null;
    this.stream = null; // an OME-Zarr image read from a URL (the _stream trait)
    this.frames = new FrameLoop(this.surface(), this.status, {
      drawn: () => this.askForFinerLevel(),
      report: (picture) => this.sendPicture(picture),
    });
    this.animation = this.stage.onAnimation((moving) => this.trackballMoving(moving));
    this.panel = createPanel(this.panelActions());
    this.root.append(...this.status.elements, this.panel.panel);
    acceptDrops(this.root, (files) => this.openFiles(files));
    this.root.addEventListener('keydown', (event) => this.navigation.keyDown(event));
    this.subscriptions = this.subscribe();
    this.resizeObserver = new ResizeObserver(this.guarded(() => this.resized()));
    this.resizeObserver.observe(this.root);
    this.resizeObserver.observe(this.area);
    this.guarded(() => {
      this.dock();
      this.arrange();
      applyAll(this, model);
    })();
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
        this.panel.update(panelState(this.model, this));
        this.draw();
      } catch (error) {
        this.status.error(error);
      }
    };
  }

  draw() {
    this.frames.request();
  }

  /** The frame loop's surface: the render window and the 3D view's quality. */
  surface() {
    const main = () => this.main?.scene;
    return {
      render: () => this.renderFrame(),
      whenDrawn: (callback) => this.stage.whenDrawn(callback),
      get preview() {
        return main()?.preview ?? false;
      },
      toPreview: () => main()?.toPreview(),
      refine: () => main()?.refine() ?? false,
      changes3d: () => !!main()?.dirty,
      hasContent: () => this.hasContent(),
      capture: () => this.stage.capture(),
      spin: (degrees) => main()?.spin(degrees),
    };
  }

  /** Draw the views that changed (all of them after a resize). */
  renderFrame() {
    const changed = this.views.filter((view) => view.scene.dirty);
    for (const view of changed) view.syncOverlay();
    this.stage.render(this.redrawAll ? null : changed.map((view) => view.scene.renderer));
    this.redrawAll = false;
    for (const view of this.views) view.scene.dirty = false;
    this.stream?.schedule(); // the views may need other chunks now (a slice, a zoom)
  }

  eachScene(fn) {
    for (const view of this.scope || this.views) fn(view.scene);
  }

  eachView(fn) {
    for (const view of this.scope || this.views) fn(view);
  }

  hasContent() {
    return this.views.some((view) => view.scene.hasContent());
  }

  // -- layout -------------------------------------------------------------------------------

  /** The views of the `views` trait (a row takes the 3D view when wide enough), in their cells. */
  arrange() {
    const layout = arrange(this.model.get('views'), this.area.clientWidth);
    const key = layout.views.join(' ');
    if (key === this.arrangement) return;
    this.arrangement = key;
    const kept = new Map(this.views.map((view) => [view.name, view]));
    const next = layout.views.map((name) => kept.get(name) || this.makeView(name));
    for (const view of this.views) if (!next.includes(view)) view.destroy();
    const made = next.filter((view) => !this.views.includes(view));
    this.views = next;
    this.main = next.find((view) => view.name === '3d') || null;
    this.main?.setCropTool(!!this.cropTool);
    this.stage.bindTrackball(this.main?.host || null);
    this.cells.replaceChildren(...next.map((view) => view.host));
    applyGrid(this.cells, layout);
    this.status.views(key);
    this.relayout();
    this.showReadout();
    if (made.length && this.arranged) this.within(made, () => applyAll(this, this.model));
    this.arranged = true;
  }

  makeView(name) {
    const background = hexToRgb(this.model.get('bg_color'));
    if (name !== '3d')
      return new SliceView(this.stage, name, { background, intents: (view) => this.navigation.intents(view) });
    return new View3D(this.stage, {
      background,
      hooks: {
        cameraMoved: (camera) => this.cameraMoved(camera),
        cropMoved: (crop, final) => this.change({ crop }, final),
        reset: () => this.resetView(this.main),
      },
    });
  }

  /** Run `fn` with the bindings applied to `views` only. */
  within(views, fn) {
    this.scope = views;
    try {
      fn();
    } finally {
      this.scope = null;
    }
  }

  /** The panel beside the views when there is room, over them otherwise (or folded). */
  dock() {
    const docked = !this.model.get('ui_collapsed') && this.root.clientWidth >= DOCK_WIDTH;
    this.root.classList.toggle('docked', docked);
  }

  resized() {
    this.dock();
    this.arrange();
    this.relayout();
  }

  /** Each view's renderer over its cell; every view draws again. */
  relayout() {
    this.stage.resize();
    this.stage.layout(this.views.map((view) => [view.scene.renderer, view.host]));
    for (const view of this.views) {
      view.layout();
      view.scene.dirty = true;
    }
    this.redrawAll = true;
  }

  // -- what the user does --------------------------------------------------------------------

  /** The view's own edits: set on the model and sent to Python. */
  commit(changes) {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    for (const [key, value] of Object.entries(changes)) this.model.set(key, value);
    this.model.save_changes();
  }

  /** Set traits at once (the views follow); Python hears of them now (`final`) or within SAVE_INTERVAL_MS. */
  change(changes, final) {
    if (final) return this.commit(changes);
    for (const [key, value] of Object.entries(changes)) this.model.set(key, value);
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.model.save_changes();
    }, SAVE_INTERVAL_MS);
  }

  /** The crosshair to a physical point: the cursor there, the slices through its voxel. */
  moveCursor(point, final) {
    if (!this.probe.grid) return;
    const { voxel } = voxelOf(this.probe.grid, point);
    this.change({ cursor: point.map(Number), slices: voxel }, final);
  }

  /** Slices (and the cursor at their voxel's centre, as Python puts it). */
  setSlices(slices, final = true) {
    if (!this.probe.grid) return;
    const cursor = Array.from(this.probe.grid.indexToWorld(slices, [0, 0, 0]));
    this.change({ slices, cursor }, final);
  }

  /** The 2D view's camera fits its image again; the 3D view's camera is reset. */
  resetView(view) {
    if (!view) return;
    if (view === this.main) view.scene.resetCamera();
    else view.scene.resetView();
    this.draw();
  }

  /** The readout: under the mouse over a 2D view, else at the crosshair (when a 2D view shows it). */
  showReadout() {
    const names = this.model.get('label_names');
    const { hovered: mouse } = this.navigation;
    const hovered = mouse && this.views.includes(mouse.view) ? mouse : null;
    const point = hovered ? hovered.view.scene.toWorld(hovered.x, hovered.y) : this.model.get('cursor');
    const crosshair = this.views.some((view) => view !== this.main);
    const sample = point && crosshair && this.probe.grid ? this.probe.sample(point) : null;
    this.readout.show(sample, names, hovered ? 'mouse' : 'cursor');
  }

  trackballMoving(moving) {
    if (moving) this.main?.scene.toPreview();
    else this.frames.moved();
  }

  panelActions() {
    const model = this.model;
    return {
      set: (key, value) => this.commit({ [key]: value }),
      change: (key, value, final) => this.change({ [key]: value }, final),
      setCropTool: (on) => {
        this.cropTool = on;
        this.main?.setCropTool(on);
        this.panel.update(panelState(model, this));
        this.draw();
      },
      setVisible: (name, visible) => {
        const layers = model.get('layers') || {};
        this.commit({ layers: { ...layers, [name]: { ...(layers[name] || {}), visible } } });
      },
      setSlice: (axis, index) => {
        const slices = [...model.get('slices')];
        slices[axis] = index;
        this.setSlices(slices);
      },
      resetCamera: () => {
        for (const view of this.views) this.resetView(view);
      },
      setTool: (tool) => {
        this.navigation.tool = tool;
        this.panel.update(panelState(model, this));
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

  /** Stream the image `source` names ({url, base, serial, ...}), or stop streaming ({}). */
  openStream(source) {
    if (this.stream && this.stream.source.serial === source?.serial && this.stream.source.url === source?.url) return;
    const ended = this.stream;
    ended?.destroy();
    this.stream = null;
    if (ended) this.streamChanged('image'); // the views show Python's image (if any) again
    if (!source?.url) return;
    this.stream = new Stream(this, source);
    this.stream.open();
  }

  /** The stream read a level ('image') or a plane ('planes'): the views show it. */
  streamChanged(what) {
    const handler = BINDINGS[what === 'image' ? '_image' : '_planes'];
    this.guarded(() => handler(this, this.model))();
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
    clearTimeout(this.saveTimer);
    this.stream?.destroy();
    this.frames.stop();
    this.timebar.destroy();
    this.resizeObserver.disconnect();
    this.animation.unsubscribe();
    for (const view of this.views) view.destroy();
    this.stage.destroy();
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
