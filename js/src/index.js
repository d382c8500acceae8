// voxlite widget front end: anywidget's render({ model, el }) entry point.
// The model's traits are the single source of truth; the scene and the panel follow them.
import { Scene } from './scene.js';
import { createPanel, PANEL_CSS } from './ui.js';

const STYLE_ID = 'voxlite-style';
const CAMERA_SYNC_DELAY_MS = 200;
// The settled picture is sent to Python (for Viewer.screenshot) once nothing has moved for this long.
const FRAME_REPORT_DELAY_MS = 300;
const SPIN_DEGREES_PER_FRAME = 0.5;

function ensureStyle(el) {
  const root = el.getRootNode();
  const host = root.head || root;
  if (host.querySelector?.(`#${STYLE_ID}`)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = PANEL_CSS;
  host.appendChild(style);
}

function hexToRgb(hex) {
  const value = /^#?([0-9a-f]{6})$/i.exec(hex || '');
  if (!value) return [0, 0, 0];
  const n = parseInt(value[1], 16);
  return [(n >> 16) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255];
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
  return `${name}${size(full.shape)} ${image.dtype}, spacing ${spacing}\nrange ${Number(low.toPrecision(4))} … ${Number(high.toPrecision(4))}${level}`;
}

/** Files dropped on the viewer, folders (a DICOM series) walked recursively. */
async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.());
  if (!entries.some(Boolean)) return [...dataTransfer.files];
  const files = [];
  const walk = async (entry) => {
    if (!entry) return;
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}

function render({ model, el }) {
  ensureStyle(el);
  const root = document.createElement('div');
  root.className = 'voxlite-root';
  const canvasHost = document.createElement('div');
  canvasHost.className = 'voxlite-canvas';
  const message = document.createElement('div');
  message.className = 'voxlite-message';
  const progress = document.createElement('div');
  progress.className = 'voxlite-progress';
  progress.hidden = true;
  progress.innerHTML = '<div class="voxlite-progress-bar"></div><span></span>';
  root.append(canvasHost, message, progress);
  el.appendChild(root);
  root.style.height = `${model.get('height')}px`;

  const scene = new Scene(canvasHost, { background: hexToRgb(model.get('bg_color')) });
  let frames = 0;
  let pending = false;
  let applyingCamera = false;

  const commit = (changes) => {
    for (const [key, value] of Object.entries(changes)) model.set(key, value);
    model.save_changes();
  };

  const panel = createPanel({
    set: (key, value) => commit({ [key]: value }),
    setVisible: (name, visible) => {
      const layers = model.get('layers') || {};
      commit({ layers: { ...layers, [name]: { ...(layers[name] || {}), visible } } });
    },
    setSlice: (axis, index) => {
      const slices = [...model.get('slices')];
      slices[axis] = index;
      commit({ slices });
    },
    resetCamera: () => {
      scene.resetCamera();
      requestRender();
    },
    open: (files) => openFiles(files),
  });

  async function openFiles(files) {
    if (!files.length) return;
    message.textContent = `Opening ${files.length === 1 ? files[0].name : `${files.length} files`}…`;
    const buffers = await Promise.all(files.map((file) => file.arrayBuffer()));
    model.send({ type: 'open', names: files.map((file) => file.name) }, undefined, buffers);
  }

  const onCustomMessage = (content) => {
    if (content && content.type === 'error') showError(content.message);
  };
  model.on('msg:custom', onCustomMessage);

  const dropTarget = {
    dragover: (event) => {
      event.preventDefault();
      root.classList.add('dropping');
    },
    dragleave: () => root.classList.remove('dropping'),
    drop: async (event) => {
      event.preventDefault();
      root.classList.remove('dropping');
      openFiles(await droppedFiles(event.dataTransfer));
    },
  };
  for (const [name, handler] of Object.entries(dropTarget)) root.addEventListener(name, handler);
  root.appendChild(panel.panel);

  function requestRender() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      scene.render();
      frames += 1;
      root.dataset.voxliteFrames = String(frames);
      root.dataset.voxliteQuality = scene.preview ? 'preview' : 'full';
      // Once the GPU has drawn the quick picture, draw the full-quality one, and ask for
      // the image's finer level: queued earlier, either would delay the first picture.
      scene.whenDrawn(() => {
        if (scene.preview) (scene.refine() ? requestRender : settled)();
        else scheduleFrameReport();
        askForFinerLevel();
      });
    });
  }

  // A preview of a large image is on screen: Python computes the finer level now,
  // not earlier, so that the first frame does not share the CPU with it.
  let askedFor = null;
  function askForFinerLevel() {
    const image = model.get('_image');
    if (image?.level !== 'preview' || askedFor === image.serial) return;
    askedFor = image.serial;
    model.send({ type: 'refine', serial: image.serial });
  }

  // Python cannot wait for the browser inside a running cell (the kernel handles
  // messages between cells), so the view sends its settled picture unasked.
  let frameTimer = null;
  function scheduleFrameReport() {
    clearTimeout(frameTimer);
    frameTimer = setTimeout(reportFrame, FRAME_REPORT_DELAY_MS);
  }

  async function reportFrame() {
    if (spinning || pending || scene.preview || !scene.hasContent()) return;
    try {
      const { width, height, rgba } = scene.capture();
      const buffer = await deflate(rgba);
      model.send({ type: 'frame', width, height, encoding: 'zlib-rgba' }, undefined, [buffer]);
      root.dataset.voxliteReported = String(frames);
    } catch (error) {
      console.warn('voxlite: could not report the picture', error);
    }
  }

  let spinning = false;
  function spin() {
    spinning = model.get('rotate');
    if (!spinning) return scheduleFrameReport();
    scene.spin(SPIN_DEGREES_PER_FRAME);
    scene.render();
    frames += 1;
    root.dataset.voxliteFrames = String(frames);
    requestAnimationFrame(() => {
      if (spinning && model.get('rotate')) spin();
      else spinning = false;
    });
  }

  /** Refined without a new picture (MIP, slices): what is on screen is final. */
  function settled() {
    root.dataset.voxliteQuality = scene.preview ? 'preview' : 'full';
    scheduleFrameReport();
  }

  function showError(error) {
    message.textContent = `voxlite: ${error.message || error}`;
    root.dataset.voxliteState = 'error';
    console.error('voxlite:', error);
  }

  function refreshPanel() {
    const image = model.get('_image');
    const labels = model.get('_labels');
    const shape = image?.shape ? fullGrid(image).shape : [1, 1, 1];
    panel.update({
      mode: model.get('mode'),
      cmap: model.get('cmap'),
      window: model.get('window'),
      level: model.get('level'),
      opacity: model.get('opacity'),
      label_opacity: model.get('label_opacity'),
      slices: model.get('slices'),
      ui_collapsed: model.get('ui_collapsed'),
      range: image?.range ? image.range : [0, 1],
      integer: image?.dtype && !image.dtype.startsWith('float'),
      size: [shape[2], shape[1], shape[0]],
      hasLabels: !!labels?.shape,
      info: describe(image),
      layers: layerList(),
    });
  }

  /** [name, visible] for every layer present, in drawing order. */
  function layerList() {
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

  function applyAppearance() {
    scene.setAppearance({
      preset: model.get('cmap'),
      window: model.get('window'),
      level: model.get('level'),
      opacity: model.get('opacity'),
      labelOpacity: model.get('label_opacity'),
      gradientOpacity: model.get('gradient_opacity'),
    });
  }

  function applyCamera() {
    const camera = model.get('camera');
    if (!camera?.position) return;
    applyingCamera = true;
    scene.setCamera(camera);
    applyingCamera = false;
  }

  function loadImage() {
    const image = model.get('_image');
    if (!image?.shape) {
      root.dataset.voxliteState = scene.hasContent() ? 'ready' : 'empty';
      return;
    }
    scene.setImage(image);
    // Benchmarks read this mark: the moment the voxels are a typed array in the page.
    performance.mark('voxlite:image-received', {
      detail: { bytes: image.data.byteLength, shape: image.shape, level: image.level },
    });
    loadLabels();
    scene.setMode(model.get('mode'));
    scene.setSlices(model.get('slices'));
    scene.setPlanes(model.get('_planes'));
    message.textContent = '';
    root.dataset.voxliteState = 'ready';
    root.dataset.voxliteLevel = image.level || 'full';
  }

  /** A bar and a line of text while Python computes a finer level. */
  function showProgress() {
    const { text, fraction } = model.get('_progress') || {};
    progress.hidden = text === undefined;
    if (progress.hidden) {
      delete root.dataset.voxliteLoading;
      return;
    }
    root.dataset.voxliteLoading = String(fraction);
    progress.firstChild.style.width = `${Math.round(100 * fraction)}%`;
    progress.lastChild.textContent = `${text} ${Math.round(100 * fraction)}%`;
  }

  function loadLabels() {
    const labels = model.get('_labels');
    scene.setLabels(labels?.shape ? labels : null, labels ? labels.colors : []);
    applyAppearance();
  }

  const guarded = (fn) => () => {
    try {
      fn();
      refreshPanel();
      requestRender();
    } catch (error) {
      showError(error);
    }
  };

  const handlers = {
    'change:_image': guarded(loadImage),
    'change:_labels': guarded(loadLabels),
    'change:_planes': guarded(() => scene.setPlanes(model.get('_planes'))),
    'change:_progress': guarded(showProgress),
    'change:cmap change:window change:level change:opacity change:label_opacity change:gradient_opacity':
      guarded(applyAppearance),
    'change:_geometries': guarded(loadGeometries),
    'change:layers': guarded(() => scene.setLayerSettings(model.get('layers'))),
    'change:rotate': guarded(() => model.get('rotate') && !spinning && spin()),
    'change:mode': guarded(() => scene.setMode(model.get('mode'))),
    'change:slices': guarded(() => scene.setSlices(model.get('slices'))),
    'change:camera': guarded(applyCamera),
    'change:bg_color': guarded(() => scene.setBackground(hexToRgb(model.get('bg_color')))),
    'change:ui_collapsed': guarded(() => {}),
    'change:height': guarded(() => {
      root.style.height = `${model.get('height')}px`;
      scene.resize();
    }),
  };
  const subscriptions = Object.entries(handlers).flatMap(([events, handler]) =>
    events.split(' ').map((event) => [event, handler]),
  );
  for (const [event, handler] of subscriptions) model.on(event, handler);

  // User interaction moves the camera: report it to Python once the motion settles.
  // Clipping-range updates also modify the camera; only a moved view is reported.
  let cameraTimer = null;
  const cameraSubscription = scene.onCameraChange(() => {
    if (applyingCamera) return;
    clearTimeout(cameraTimer);
    cameraTimer = setTimeout(() => {
      const camera = scene.getCamera();
      if (!sameCamera(camera, model.get('camera'))) commit({ camera });
    }, CAMERA_SYNC_DELAY_MS);
  });

  const resizeObserver = new ResizeObserver(() => {
    scene.resize();
    requestRender();
  });
  resizeObserver.observe(root);

  function loadGeometries() {
    scene.setGeometries(model.get('_geometries') || []);
    if (scene.hasContent()) root.dataset.voxliteState = 'ready';
  }

  guarded(() => {
    scene.setLayerSettings(model.get('layers'));
    loadGeometries();
    loadImage();
    showProgress();
    applyCamera();
    if (model.get('rotate')) spin();
  })();

  return () => {
    for (const [event, handler] of subscriptions) model.off(event, handler);
    model.off('msg:custom', onCustomMessage);
    clearTimeout(cameraTimer);
    clearTimeout(frameTimer);
    spinning = false;
    cameraSubscription.unsubscribe();
    resizeObserver.disconnect();
    scene.destroy();
  };
}

export default { render };
