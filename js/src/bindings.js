// What each synced trait does to the widget, as one table: trait names (space-separated)
// -> handler(viewer, model). After every handler the viewer refreshes the panel and draws
// again (Viewer.guarded), so a handler only changes state. Handlers that change what is
// drawn give it to every view's scene: another kind of view (a 2D slice view) implements
// the same scene methods and needs no new entry; a new trait is one more line here.
import { hexToRgb } from './helpers.js';

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
  _planes: toScenes('setPlanes', '_planes'),
  _progress: (viewer, model) => viewer.status.loading(model.get('_progress')),
  'cmap window level opacity label_opacity gradient_opacity': applyAppearance,
  _geometries: showGeometries,
  layers: toScenes('setLayerSettings', 'layers'),
  rotate: (viewer, model) => viewer.frames.rotate(model.get('rotate')),
  mode: toScenes('setMode', 'mode'),
  slices: toScenes('setSlices', 'slices'),
  camera: applyCamera,
  bg_color: toScenes('setBackground', 'bg_color', hexToRgb),
  ui_collapsed: () => {}, // the panel follows, as after every change
  height: (viewer, model) => {
    viewer.root.style.height = `${model.get('height')}px`;
    viewer.eachScene((scene) => scene.resize());
  },
};

// The model's state when the view opens. Layer settings first (geometries take their style
// from them); the saved camera after the image and geometries, since showing those fits it.
const AT_START = ['layers', '_geometries', '_image', '_progress', 'camera', 'rotate'];

export function applyAll(viewer, model) {
  for (const trait of AT_START) BINDINGS[trait](viewer, model);
}

function showImage(viewer, model) {
  const image = model.get('_image');
  if (!image?.shape) {
    viewer.status.state(viewer.hasContent() ? 'ready' : 'empty');
    return;
  }
  viewer.eachScene((scene) => scene.setImage(image));
  // Benchmarks read this mark: the moment the voxels are a typed array in the page.
  performance.mark('voxlite:image-received', {
    detail: { bytes: image.data.byteLength, shape: image.shape, level: image.level },
  });
  showLabels(viewer, model);
  viewer.eachScene((scene) => {
    scene.setMode(model.get('mode'));
    scene.setSlices(model.get('slices'));
    scene.setPlanes(model.get('_planes'));
  });
  viewer.status.imageShown(image.level || 'full');
}

function showLabels(viewer, model) {
  const labels = model.get('_labels');
  viewer.eachScene((scene) => scene.setLabels(labels?.shape ? labels : null, labels ? labels.colors : []));
  applyAppearance(viewer, model);
}

function applyAppearance(viewer, model) {
  const appearance = {
    preset: model.get('cmap'),
    window: model.get('window'),
    level: model.get('level'),
    opacity: model.get('opacity'),
    labelOpacity: model.get('label_opacity'),
    gradientOpacity: model.get('gradient_opacity'),
  };
  viewer.eachScene((scene) => scene.setAppearance(appearance));
}

function showGeometries(viewer, model) {
  const layers = model.get('_geometries') || [];
  viewer.eachScene((scene) => scene.setGeometries(layers));
  if (viewer.hasContent()) viewer.status.state('ready');
}

/** The 3D view's camera; 2D views keep cameras of their own. */
function applyCamera(viewer, model) {
  const camera = model.get('camera');
  if (camera?.position) viewer.main.setCamera(camera);
}
