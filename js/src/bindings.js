// What each synced trait does to the widget, as one table: trait names (space-separated)
// -> handler(viewer, model). After every handler the viewer refreshes the panel and draws
// again (Viewer.guarded), so a handler only changes state. Handlers that change what is
// drawn give it to every view's scene: the 3D scene (scene.js) and the 2D ones (slice.js)
// implement the same methods (a method that means nothing to a kind of view does nothing
// there); a new trait is one more line here.
import { hexToRgb, shownImage } from './helpers.js';
import { LabelTable } from './labels.js';

/** A handler that hands the trait's value to one method of every scene. */
function toScenes(method, trait, convert = (value) => value) {
  return (viewer, model) => {
    const value = convert(model.get(trait));
    viewer.eachScene((scene) => scene[method](value));
  };
}

export const BINDINGS = {
  _image: showImage,
  _labels: showLabels,
  _planes: showPlanes,
  _stream: (viewer, model) => viewer.openStream(model.get('_stream')),
  cache_mb: (viewer, model) => viewer.stream?.budget(model.get('cache_mb')),
  _progress: (viewer, model) => viewer.status.loading(model.get('_progress')),
  'cmap window level opacity label_opacity gradient_opacity opacity_points': applyAppearance,
  crop: toScenes('setCrop', 'crop'),
  _geometries: showGeometries,
  layers: toScenes('setLayerSettings', 'layers'),
  rotate: (viewer, model) => viewer.frames.rotate(model.get('rotate')),
  mode: toScenes('setMode', 'mode'),
  'slices cursor': showCursor,
  camera: applyCamera,
  bg_color: toScenes('setBackground', 'bg_color', hexToRgb),
  ui_collapsed: (viewer) => viewer.dock(),
  height: (viewer, model) => {
    viewer.root.style.height = `${model.get('height')}px`;
  },
  views: (viewer) => viewer.arrange(),
  _orientation: (viewer, model) => viewer.eachView((view) => view.setOrientation(model.get('_orientation'))),
  'hidden_labels label_display': applyLabelStyle,
  label_names: (viewer) => viewer.showReadout(),
  measurements: toScenes('setMeasurements', 'measurements'),
  channels: toScenes('setChannels', 'channels'),
  radiological: () => {}, // Python computes the views' geometry (_orientation) from it
};

// The model's state when a view opens. Layer settings first (geometries take their style
// from them), the views' geometry before the image; the saved camera after the image and
// geometries, since showing those fits it.
const AT_START = [
  'layers',
  '_geometries',
  '_orientation',
  'measurements',
  '_image',
  '_stream',
  '_progress',
  'hidden_labels',
  'crop',
  'camera',
  'rotate',
];

export function applyAll(viewer, model) {
  const handlers = new Map(Object.entries(BINDINGS).flatMap(([traits, h]) => traits.split(' ').map((t) => [t, h])));
  for (const trait of AT_START) handlers.get(trait)(viewer, model);
}

// A streamed image (stream/stream.js) stands in for the payloads Python sends.
const planesOf = (viewer, model) => (viewer.stream ? viewer.stream.planeList : model.get('_planes'));

function showImage(viewer, model) {
  const image = shownImage(model, viewer);
  if (!image?.shape) {
    viewer.status.state(viewer.hasContent() ? 'ready' : 'empty');
    return;
  }
  viewer.eachScene((scene) => {
    scene.setImage(image);
    scene.setChannels(model.get('channels'));
  });
  // Benchmarks read this mark: the moment the voxels are a typed array in the page.
  performance.mark('voxlite:image-received', {
    detail: { bytes: image.data.byteLength, shape: image.shape, level: image.level },
  });
  showLabels(viewer, model);
  viewer.eachScene((scene) => {
    scene.setMode(model.get('mode'));
    scene.setSlices(model.get('slices'));
    scene.setCursor(model.get('cursor'));
    scene.setPlanes(planesOf(viewer, model));
  });
  const flat = (image.full?.shape || image.shape).filter((n) => n === 1).length === 1;
  viewer.status.imageShown(image.level || 'full', `${image.pixel || 'scalar'}${flat ? ' 2d' : ''}`);
}

function showLabels(viewer, model) {
  const labels = model.get('_labels');
  const table = new LabelTable(labels?.colors || []);
  viewer.labelTable = table;
  viewer.eachScene((scene) => scene.setLabels(labels?.shape ? labels : null, table));
  applyLabelStyle(viewer, model);
  applyAppearance(viewer, model);
  updateProbe(viewer, model);
}

function showPlanes(viewer, model) {
  viewer.eachScene((scene) => scene.setPlanes(planesOf(viewer, model)));
  updateProbe(viewer, model);
}

function showCursor(viewer, model) {
  viewer.eachScene((scene) => {
    scene.setSlices(model.get('slices'));
    scene.setCursor(model.get('cursor'));
  });
  viewer.showReadout();
}

/** What the readout reads: the image, the label map and the planes received. */
function updateProbe(viewer, model) {
  viewer.probe.update({
    image: shownImage(model, viewer),
    labels: model.get('_labels'),
    planes: planesOf(viewer, model),
  });
  viewer.showReadout();
}

function applyAppearance(viewer, model) {
  const appearance = {
    preset: model.get('cmap'),
    window: model.get('window'),
    level: model.get('level'),
    opacity: model.get('opacity'),
    labelOpacity: model.get('label_opacity'),
    gradientOpacity: model.get('gradient_opacity'),
    opacityPoints: model.get('opacity_points') || [],
  };
  viewer.eachScene((scene) => scene.setAppearance(appearance));
}

function applyLabelStyle(viewer, model) {
  const style = { hidden: new Set(model.get('hidden_labels') || []), display: model.get('label_display') || 'outline' };
  viewer.eachScene((scene) => scene.setLabelStyle(style));
}

function showGeometries(viewer, model) {
  const layers = model.get('_geometries') || [];
  viewer.eachScene((scene) => scene.setGeometries(layers));
  if (viewer.hasContent()) viewer.status.state('ready');
}

/** The 3D view's camera; 2D views keep cameras of their own. */
function applyCamera(viewer, model) {
  const camera = model.get('camera');
  if (camera?.position) viewer.main?.setCamera(camera);
}
