// A 2D view's vtk.js scene, in its own renderer of the widget's render window: one slice of
// the image and of the label map (outlined or filled), seen face on through a parallel camera
// looking along the view's normal, with the crosshair (the other views' planes through the
// cursor, as lines) and the rulers drawn in this view. Geometry follows voxlite.orientation:
// `_orientation[view]` = {axis, normal, up, right, letters, oblique}, unit LPS vectors.
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkImageMapper from '@kitware/vtk.js/Rendering/Core/ImageMapper';
import vtkImageSlice from '@kitware/vtk.js/Rendering/Core/ImageSlice';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';

import { sliceColorFunction } from './colormaps.js';
import { SliceCrop } from './crop.js';
import { hexToRgb } from './helpers.js';
import { ImageKind } from './kinds.js';
import { LabelTable } from './labels.js';
import { levelIndex } from './scene.js';
import { toGrid, toImageData } from './volumes.js';

/** Each 2D view's colour (3D Slicer's: red axial, green coronal, yellow sagittal). */
export const VIEW_COLORS = { axial: '#f34a33', coronal: '#6eb04b', sagittal: '#edd54c' };
const RULER_COLOR = [0, 0.9, 1];
const RULER_TICK_PIXELS = 5; // half the length of the ticks across a ruler's ends
const RULER_HALF_WIDTH = 1; // pixels: rulers are drawn 2 pixels wide
// How far in front of the image slice (towards the camera) overlays are drawn, in voxels.
const LABEL_LIFT = 0.05;
const LINE_LIFT = 0.1;
const MIN_ZOOM = 0.2;
const MAX_ZOOM = 40;

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const add = (a, b, s = 1) => [a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]];
const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

function makeSlice(renderer) {
  const mapper = vtkImageMapper.newInstance();
  const actor = vtkImageSlice.newInstance();
  actor.setMapper(mapper);
  actor.setVisibility(false);
  actor.getProperty().setInterpolationTypeToNearest();
  actor.getProperty().setUseLookupTableScalarRange(true);
  renderer.addActor(actor);
  return { mapper, actor };
}

/**
 * Line segments ([[p, q], ...]) in one colour, as one actor: one pixel wide, or as strips
 * `width` = {half: mm, normal} wide (WebGL draws no line wider than a pixel).
 */
class Lines {
  constructor(renderer, color) {
    this.polyData = vtkPolyData.newInstance();
    this.mapper = vtkMapper.newInstance();
    this.mapper.setInputData(this.polyData);
    this.actor = vtkActor.newInstance();
    this.actor.setMapper(this.mapper);
    this.actor.getProperty().setColor(...color);
    this.actor.getProperty().setLighting(false);
    this.actor.setPickable(false);
    renderer.addActor(this.actor);
    this.set([]);
  }

  set(segments, width = null) {
    const corners = width ? 4 : 2;
    const points = new Float32Array(segments.length * corners * 3);
    const cells = new Uint32Array(segments.length * (corners + 1));
    segments.forEach(([p, q], n) => {
      let ends = [p, q];
      if (width) {
        const along = sub(q, p);
        const across = cross(width.normal, along);
        const scale = width.half / (Math.hypot(...across) || 1);
        ends = [add(p, across, -scale), add(p, across, scale), add(q, across, scale), add(q, across, -scale)];
      }
      points.set(ends.flat(), n * corners * 3);
      cells.set([corners, ...ends.map((_, c) => n * corners + c)], n * (corners + 1));
    });
    this.polyData.getPoints().setData(points, 3);
    this.polyData.getLines().setData(width ? new Uint32Array() : cells);
    this.polyData.getPolys().setData(width ? cells : new Uint32Array());
    this.polyData.modified();
    this.actor.setVisibility(segments.length > 0);
  }
}

export class SliceScene {
  /** `name`: 'axial', 'coronal' or 'sagittal'. */
  constructor(stage, name, { background = [0, 0, 0] } = {}) {
    this.stage = stage;
    this.name = name;
    this.renderer = stage.addRenderer({ background, interactive: false });
    this.camera = this.renderer.getActiveCamera();
    this.camera.setParallelProjection(true);
    this.imageSlice = makeSlice(this.renderer);
    this.kind = new ImageKind(); // scalar, colour or channels (kinds.js)
    this.labelSlice = makeSlice(this.renderer);
    this.cropShade = new SliceCrop(this); // the slice dimmed outside the crop box
    this.crosshair = {}; // other view's name -> Lines
    this.rulerLines = new Lines(this.renderer, RULER_COLOR);
    this.image = null;
    this.fullGrid = null;
    this.labels = null;
    this.table = new LabelTable();
    this.planes = [];
    this.slices = [0, 0, 0];
    this.cursor = null;
    this.orientation = null; // this view's entry of _orientation
    this.orientations = {};
    this.appearance = null;
    this.hidden = new Set();
    this.display = 'outline';
    this.layerSettings = {};
    this.rulers = []; // measurements
    this.draft = null; // the ruler being drawn: [p, q]
    this.size = [1, 1]; // the viewport in CSS pixels
    this.pan = [0, 0]; // focal point offset along right, up (mm)
    this.zoom = 1;
    this.preview = false;
    this.dirty = true;
  }

  // -- the model's state --------------------------------------------------------------------

  setImage(volume) {
    const fullGrid = volume.full ? toGrid(volume.full) : toImageData(volume);
    const sameGrid = this.fullGrid && sameArray(this.fullGrid.getBounds(), fullGrid.getBounds());
    this.image = toImageData(volume);
    this.kind.setImage(volume);
    this.fullGrid = fullGrid;
    if (!sameGrid) this.resetView();
    this.applySlice();
  }

  setLabels(volume, table) {
    this.table = table || new LabelTable();
    this.labels = volume ? this.table.denseImage(volume) : null;
    const width = Math.min(this.stage.maxTextureWidth, Math.max(1024, 4 * (this.table.size + 1)));
    this.labelSlice.mapper.setColorTextureWidth?.(width);
    this.applyLabelStyle();
    this.applySlice();
  }

  setPlanes(planes) {
    this.planes = (planes || []).map(({ axis, index, image, labels }) => ({
      axis,
      index,
      image: toImageData(image),
      labelVolume: labels?.shape ? labels : null,
    }));
    this.applySlice();
  }

  setSlices(indices) {
    const changed = indices[this.orientation?.axis ?? 0] !== this.slices[this.orientation?.axis ?? 0];
    this.slices = [...indices];
    if (changed) this.applySlice();
    this.applyOverlays();
  }

  setCursor(point) {
    this.cursor = point ? [...point] : null;
    this.applyOverlays();
  }

  /** `orientations`: the whole _orientation trait (this view's entry, and the others' axes). */
  setOrientation(orientations) {
    const next = orientations?.[this.name] || null;
    const changed = JSON.stringify(next) !== JSON.stringify(this.orientation);
    this.orientations = orientations || {};
    this.orientation = next;
    if (changed) {
      this.resetView();
      this.applySlice();
    }
  }

  setAppearance(appearance) {
    this.appearance = appearance;
    const { preset, window, level } = appearance;
    const property = this.imageSlice.actor.getProperty();
    property.setRGBTransferFunction(0, sliceColorFunction(preset, level - window / 2, level + window / 2));
    this.kind.sliceProperty(property);
    this.applyLabelStyle();
    this.dirty = true;
  }

  /** {hidden: Set of labels, display: 'outline' | 'filled'}. */
  setLabelStyle({ hidden, display }) {
    this.hidden = hidden;
    this.display = display;
    this.applyLabelStyle();
  }

  /** The `channels` trait: each channel's colour, window, opacity and visibility. */
  setChannels(channels) {
    this.kind.setChannels(channels);
    this.applySlice();
  }

  setMeasurements(measurements) {
    this.rulers = (measurements || []).filter((m) => !m.view || m.view === this.name);
    this.applyOverlays();
  }

  setLayerSettings(settings) {
    this.layerSettings = settings || {};
    this.applyVisibility();
  }

  setBackground(rgb) {
    this.renderer.setBackground(...rgb);
    this.dirty = true;
  }

  setCrop(crop) {
    this.cropShade.set(crop);
    this.dirty = true;
  }

  // The 3D view's traits: nothing to do in 2D.
  setMode() {}
  setGeometries() {}

  hasContent() {
    return !!this.image;
  }

  // -- drawing ------------------------------------------------------------------------------

  /** The slice shown: the full-resolution plane at the index when there is one, else the level's. */
  applySlice() {
    this.dirty = true;
    if (!this.image || !this.orientation) return this.applyVisibility();
    const { axis } = this.orientation;
    const index = this.slices[axis];
    const plane = this.planes.find((p) => p.axis === axis && p.index === index);
    this.fromPlane = !!plane;
    const image = this.imageSlice.mapper;
    image.setSlicingMode(axis);
    const { input, slice } = this.kind.sliceOf(
      plane ? plane.image : this.image,
      axis,
      plane ? 0 : levelIndex(this.fullGrid, this.image, axis, index),
    );
    image.setInputData(input);
    image.setSlice(slice);
    if (this.labels) {
      this.labelSlice.actor.setPosition(...this.liftVector(LABEL_LIFT));
      const labels = this.labelSlice.mapper;
      labels.setSlicingMode(axis);
      labels.setInputData(plane?.labelVolume ? this.table.denseImage(plane.labelVolume) : this.labels);
      labels.setSlice(plane?.labelVolume ? 0 : levelIndex(this.fullGrid, this.labels, axis, index));
    }
    this.applyVisibility();
    this.applyCamera();
    this.applyOverlays();
  }

  applyLabelStyle() {
    if (!this.appearance) return;
    const property = this.labelSlice.actor.getProperty();
    const outline = this.display === 'outline';
    const { colors, opacities } = this.table.functions(outline ? 0 : 1, this.hidden);
    property.setRGBTransferFunction(0, colors);
    property.setPiecewiseFunction(0, opacities);
    property.setOpacity(outline ? 1 : this.appearance.labelOpacity);
    property.setUseLabelOutline(outline);
    property.setLabelOutlineOpacity(this.table.outlineOpacities(this.hidden));
    this.dirty = true;
  }

  applyVisibility() {
    const shown = (name) => this.layerSettings[name]?.visible !== false;
    const ready = !!this.image && !!this.orientation;
    this.imageSlice.actor.setVisibility(ready && shown('image'));
    this.labelSlice.actor.setVisibility(ready && !!this.labels && shown('labels'));
    this.dirty = true;
  }

  /** The crosshair and the rulers, in front of the slice. */
  applyOverlays() {
    this.dirty = true;
    if (!this.image || !this.orientation) return;
    const lift = this.liftVector(LINE_LIFT);
    const lifted = (p) => add(p, lift);
    for (const [view, segment] of Object.entries(this.crosshairSegments())) {
      this.crosshair[view] ||= new Lines(this.renderer, hexToRgb(VIEW_COLORS[view]));
      this.crosshair[view].set(segment ? [segment.map(lifted)] : []);
    }
    const rulers = [...this.visibleRulers().map((r) => r.points), ...(this.draft ? [this.draft] : [])];
    const segments = rulers.flatMap((points) => this.rulerSegments(points)).map((s) => s.map(lifted));
    this.rulerLines.set(segments, { half: RULER_HALF_WIDTH * this.pixelSize(), normal: this.orientation.normal });
  }

  /** For each other 2D view: its plane through the cursor, cut by this view's slice ([p, q] or null). */
  crosshairSegments() {
    const segments = {};
    const { axis } = this.orientation;
    const dims = this.fullGrid.getDimensions();
    const cursor = this.cursor ? this.fullGrid.worldToIndex(this.cursor, [0, 0, 0]) : this.slices;
    for (const [view, other] of Object.entries(this.orientations)) {
      if (view === this.name || !other) continue;
      const across = other.axis;
      const along = [0, 1, 2].find((a) => a !== axis && a !== across);
      if (across === axis || along === undefined) {
        segments[view] = null; // the same slices as this view's: no line
        continue;
      }
      const ends = [-0.5, dims[along] - 0.5].map((t) => {
        const ijk = [0, 0, 0];
        ijk[axis] = this.slices[axis];
        ijk[across] = Math.min(dims[across] - 0.5, Math.max(-0.5, cursor[across]));
        ijk[along] = t;
        return this.fullGrid.indexToWorld(ijk, [0, 0, 0]);
      });
      segments[view] = ends;
    }
    return segments;
  }

  /** A ruler's line, and a tick across each end (in the view's plane). */
  rulerSegments([p, q]) {
    const across = cross(this.orientation.normal, sub(q, p));
    const half = (RULER_TICK_PIXELS * this.pixelSize()) / (Math.hypot(...across) || 1);
    const tick = (end) => [add(end, across, -half), add(end, across, half)];
    return [[p, q], tick(p), tick(q)];
  }

  /** Rulers whose two ends lie on the slice shown (within half a voxel). */
  visibleRulers() {
    const { axis } = this.orientation;
    return this.rulers.filter((ruler) =>
      ruler.points.every((p) => Math.abs(this.fullGrid.worldToIndex(p, [0, 0, 0])[axis] - this.slices[axis]) <= 0.5),
    );
  }

  /** The size of a screen pixel on the slice, in mm. */
  pixelSize() {
    return this.camera.getParallelScale() / (this.size[1] / 2);
  }

  /** A vector towards the camera, `voxels` voxels long (along the view's slicing axis). */
  liftVector(voxels) {
    const { axis, normal } = this.orientation;
    return normal.map((n) => -n * voxels * this.fullGrid.getSpacing()[axis]);
  }

  // -- the 2D camera ------------------------------------------------------------------------

  /** The viewport's size in CSS pixels (the camera fits the image to it). */
  setSize(width, height) {
    this.size = [Math.max(width, 1), Math.max(height, 1)];
    this.applyCamera();
  }

  resetView() {
    this.pan = [0, 0];
    this.zoom = 1;
    this.applyCamera();
  }

  /** Move the picture by (dx, dy) CSS pixels. */
  panBy(dx, dy) {
    const perPixel = this.camera.getParallelScale() / (this.size[1] / 2);
    this.pan = [this.pan[0] - dx * perPixel, this.pan[1] + dy * perPixel];
    this.applyCamera();
  }

  /** Zoom by `factor` keeping the point under (x, y) (CSS pixels in the view) where it is. */
  zoomBy(factor, x, y) {
    const before = this.toWorld(x, y);
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    this.applyCamera();
    if (!before) return;
    const after = this.toWorld(x, y);
    const { right, up } = this.orientation;
    const shift = sub(before, after);
    this.pan = [this.pan[0] + dot(shift, right), this.pan[1] + dot(shift, up)];
    this.applyCamera();
  }

  /** The plane's centre (the grid's centre on the slice shown) and the scale that fits the image. */
  frame() {
    const { normal, right, up, axis } = this.orientation;
    const dims = this.fullGrid.getDimensions();
    const middle = dims.map((n) => (n - 1) / 2);
    const centre = this.fullGrid.indexToWorld(middle, [0, 0, 0]);
    const onSlice = [...middle];
    onSlice[axis] = this.slices[axis];
    const depth = dot(normal, sub(this.fullGrid.indexToWorld(onSlice, [0, 0, 0]), centre));
    let halfRight = 0;
    let halfUp = 0;
    for (let corner = 0; corner < 8; corner += 1) {
      const ijk = [0, 1, 2].map((a) => ((corner >> a) & 1 ? dims[a] - 0.5 : -0.5));
      const offset = sub(this.fullGrid.indexToWorld(ijk, [0, 0, 0]), centre);
      halfRight = Math.max(halfRight, Math.abs(dot(offset, right)));
      halfUp = Math.max(halfUp, Math.abs(dot(offset, up)));
    }
    const [width, height] = this.size;
    return { centre: add(centre, normal, depth), scale: Math.max(halfUp, (halfRight * height) / width) };
  }

  applyCamera() {
    if (!this.fullGrid || !this.orientation) return;
    const { normal, right, up } = this.orientation;
    const { centre, scale } = this.frame();
    const focal = add(add(centre, right, this.pan[0]), up, this.pan[1]);
    const distance = 10 * scale + 100;
    this.camera.setFocalPoint(...focal);
    this.camera.setPosition(...add(focal, normal, -distance));
    this.camera.setViewUp(...up);
    this.camera.setParallelScale(scale / this.zoom);
    this.renderer.resetCameraClippingRange();
    this.applyOverlays(); // the rulers' ticks keep their size on screen
  }

  /** The physical point (LPS) on the slice under (x, y), CSS pixels from the view's top left. */
  toWorld(x, y) {
    if (!this.fullGrid || !this.orientation) return null;
    const { right, up } = this.orientation;
    const [width, height] = this.size;
    const perPixel = this.camera.getParallelScale() / (height / 2);
    const focal = this.camera.getFocalPoint();
    return add(add(focal, right, (x - width / 2) * perPixel), up, (height / 2 - y) * perPixel);
  }

  /** The CSS pixel (x, y) of a physical point, from the view's top left. */
  toPixel(point) {
    const { right, up } = this.orientation;
    const [width, height] = this.size;
    const perPixel = this.camera.getParallelScale() / (height / 2);
    const offset = sub(point, this.camera.getFocalPoint());
    return [width / 2 + dot(offset, right) / perPixel, height / 2 - dot(offset, up) / perPixel];
  }

  /** Step `steps` slices along this view's axis from `slices`; the new slices (clipped). */
  stepped(slices, steps) {
    const { axis } = this.orientation;
    const next = [...slices];
    const last = this.fullGrid.getDimensions()[axis] - 1;
    next[axis] = Math.min(last, Math.max(0, next[axis] + steps));
    return next;
  }

  /** The ruler being drawn ([p, q] in LPS, or null). */
  setDraft(points) {
    this.draft = points;
    this.applyOverlays();
  }

  destroy() {
    this.stage.removeRenderer(this.renderer);
    this.renderer.delete();
  }
}

function sameArray(a, b) {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
}
