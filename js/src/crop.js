// The crop box (the `crop` trait: {min: [x, y, z], max: [x, y, z]} in LPS mm, or {}), as
// itk-vtk-viewer's cropping planes: six clipping planes on the 3D view's mappers (what lies
// outside is not drawn: the background shows), the 2D views' slice dimmed outside it, and
// handles on the box's six faces in the 3D view to drag them (the Crop tool of the panel).
import vtkPlane from '@kitware/vtk.js/Common/DataModel/Plane';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkImageMapper from '@kitware/vtk.js/Rendering/Core/ImageMapper';
import vtkImageSlice from '@kitware/vtk.js/Rendering/Core/ImageSlice';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';

import { element } from './helpers.js';

// A 2D view shows what lies outside the box at this opacity over the background.
const OUTSIDE_OPACITY = 0.3;
// The slice inside the box is drawn this far (voxels) in front of the dimmed one: below the labels.
const INSIDE_LIFT = 0.02;
const BOX_COLOR = [1, 0.75, 0.2];
export const CROP_STYLE = `
.voxlite-crop-handles { position: absolute; inset: 0; pointer-events: none; }
.voxlite-crop-handles[hidden] { display: none; }
.voxlite-crop-handle { position: absolute; width: 12px; height: 12px; margin: -6px 0 0 -6px; border-radius: 50%;
  background: #ffbf33; border: 1px solid #000a; box-sizing: border-box; pointer-events: auto; cursor: grab; touch-action: none; }
.voxlite-crop-handle:hover { background: #fff2b3; }
`;
const AXES = ['x', 'y', 'z'];
/** The six faces: an axis and a side, named as the handles' data-face ('x-min' ...). */
export const FACES = AXES.flatMap((name, axis) =>
  ['min', 'max'].map((side) => ({ name: `${name}-${side}`, axis, side })),
);

/** The box's six planes, each normal pointing into the box (the side vtk.js keeps). */
export function cropPlanes(crop) {
  if (!crop?.min) return [];
  return FACES.map(({ axis, side }) => {
    const normal = [0, 0, 0];
    normal[axis] = side === 'min' ? 1 : -1;
    return vtkPlane.newInstance({ origin: side === 'min' ? crop.min : crop.max, normal });
  });
}

/** Clip each mapper (a volume or an image mapper) by the box, or by nothing. */
export function applyCrop(mappers, crop) {
  const planes = cropPlanes(crop);
  for (const mapper of mappers) {
    mapper.removeAllClippingPlanes();
    for (const plane of planes) mapper.addClippingPlane(plane);
  }
}

/** The box {min, max} of a vtk.js bounds array [x0, x1, y0, y1, z0, z1]. */
export function boxOfBounds(bounds) {
  return { min: [bounds[0], bounds[2], bounds[4]], max: [bounds[1], bounds[3], bounds[5]] };
}

/**
 * A 2D view's slice inside the box: a copy of the image slice, clipped by the box and drawn
 * just in front of it, while the slice itself is dimmed. Follows the slice at each frame (sync).
 */
export class SliceCrop {
  constructor(scene) {
    this.scene = scene;
    this.source = scene.imageSlice;
    this.mapper = vtkImageMapper.newInstance();
    this.actor = vtkImageSlice.newInstance();
    this.actor.setMapper(this.mapper);
    this.actor.setVisibility(false);
    this.actor.getProperty().setInterpolationTypeToNearest();
    this.actor.getProperty().setUseLookupTableScalarRange(true);
    scene.renderer.addActor(this.actor);
    this.crop = null;
  }

  set(crop) {
    this.crop = crop?.min ? crop : null;
    applyCrop([this.mapper], this.crop);
  }

  /** Mirror the slice shown (its voxels, index, colours), before the view is drawn. */
  sync() {
    const source = this.source;
    const on = !!this.crop && source.actor.getVisibility() && !!source.mapper.getInputData();
    source.actor.getProperty().setOpacity(this.crop ? OUTSIDE_OPACITY : 1);
    this.actor.setVisibility(on);
    if (!on) return;
    this.mapper.setInputData(source.mapper.getInputData());
    this.mapper.setSlicingMode(source.mapper.getSlicingMode());
    this.mapper.setSlice(source.mapper.getSlice());
    this.actor.getProperty().setRGBTransferFunction(0, source.actor.getProperty().getRGBTransferFunction(0));
    if (this.scene.orientation) this.actor.setPosition(...this.scene.liftVector(INSIDE_LIFT));
  }
}

/** The box's twelve edges as one line actor (shown with the handles). */
class BoxOutline {
  constructor(renderer) {
    this.polyData = vtkPolyData.newInstance();
    const mapper = vtkMapper.newInstance();
    mapper.setInputData(this.polyData);
    this.actor = vtkActor.newInstance();
    this.actor.setMapper(mapper);
    this.actor.getProperty().setColor(...BOX_COLOR);
    this.actor.getProperty().setLighting(false);
    this.actor.setPickable(false);
    this.actor.setVisibility(false);
    renderer.addActor(this.actor);
  }

  set(box) {
    const corner = (n) => [0, 1, 2].map((a) => ((n >> a) & 1 ? box.max[a] : box.min[a]));
    const points = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7].flatMap(corner));
    const edges = [];
    for (let n = 0; n < 8; n += 1) for (const bit of [1, 2, 4]) if (!(n & bit)) edges.push(2, n, n | bit);
    this.polyData.getPoints().setData(points, 3);
    this.polyData.getLines().setData(Uint32Array.from(edges));
    this.polyData.modified();
  }
}

/**
 * Handles on the crop box's faces in the 3D view: one dot per face, placed over the face's
 * centre as the camera sees it, dragged along the face's axis. `moved(crop, final)` gets the
 * new box while a handle moves (final when it is released).
 */
export class CropHandles {
  constructor(host, scene, moved) {
    this.host = host;
    this.scene = scene;
    this.moved = moved;
    this.active = false;
    this.outline = new BoxOutline(scene.renderer);
    this.layer = element('div', { class: 'voxlite-crop-handles voxlite-overlay' });
    this.layer.hidden = true;
    this.handles = FACES.map((face) => {
      const handle = element('div', {
        class: 'voxlite-crop-handle',
        'data-face': face.name,
        title: `Drag the ${face.name} face`,
      });
      this.bindDrag(handle, face);
      this.layer.append(handle);
      return handle;
    });
    host.append(this.layer);
    this.frame = null;
    this.camera = scene.onCameraChange(() => this.syncSoon());
  }

  /** The Crop tool on or off: handles and outline shown or hidden. */
  setActive(on) {
    this.active = on;
    this.layer.hidden = !on;
    this.outline.actor.setVisibility(on);
    this.scene.dirty = true;
    this.sync();
  }

  /** The box shown: the crop, else the image's bounds (nothing cropped yet). */
  box() {
    if (this.scene.crop) return this.scene.crop;
    return this.scene.fullGrid ? boxOfBounds(this.scene.fullGrid.getBounds()) : null;
  }

  syncSoon() {
    if (!this.active || this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.sync();
    });
  }

  /** Place the handles over the faces' centres and the outline on the box. */
  sync() {
    const box = this.active ? this.box() : null;
    this.layer.hidden = !box;
    if (!box) return;
    this.outline.set(box);
    const centre = box.min.map((v, a) => (v + box.max[a]) / 2);
    FACES.forEach(({ axis, side }, n) => {
      const point = [...centre];
      point[axis] = box[side][axis];
      const [x, y] = this.toPixel(point);
      this.handles[n].style.left = `${x}px`;
      this.handles[n].style.top = `${y}px`;
    });
  }

  /** The CSS pixel (from the view's top left) where a physical point is seen. */
  toPixel(point) {
    const renderer = this.scene.renderer;
    const width = Math.max(this.host.clientWidth, 1);
    const height = Math.max(this.host.clientHeight, 1);
    const view = renderer.worldToView(...point);
    const projected = renderer.viewToProjection(...view, width / height);
    const [nx, ny] = renderer.projectionToNormalizedViewport(...projected);
    return [nx * width, (1 - ny) * height];
  }

  bindDrag(handle, { axis, side }) {
    let drag = null;
    const stop = (event) => event.stopPropagation(); // the trackball does not turn
    handle.addEventListener('dblclick', stop);
    handle.addEventListener('pointerdown', (event) => {
      stop(event);
      event.preventDefault();
      const box = this.box();
      if (!box) return;
      // Screen pixels per mm along the face's axis, measured at the face's centre.
      const centre = box.min.map((v, a) => (v + box.max[a]) / 2);
      centre[axis] = box[side][axis];
      const step = [...centre];
      step[axis] += 1;
      const [p, q] = [this.toPixel(centre), this.toPixel(step)];
      const along = [q[0] - p[0], q[1] - p[1]];
      const perMm = Math.hypot(...along);
      if (perMm < 1e-3) return; // the axis points at the camera: turn the view first
      drag = { start: [event.clientX, event.clientY], box, along, perMm };
      handle.setPointerCapture?.(event.pointerId);
    });
    const move = (event, final) => {
      if (!drag) return;
      stop(event);
      const moved = [event.clientX - drag.start[0], event.clientY - drag.start[1]];
      const mm = (moved[0] * drag.along[0] + moved[1] * drag.along[1]) / (drag.perMm * drag.perMm);
      this.moved(this.dragged(drag.box, axis, side, mm), final);
      if (final) drag = null;
    };
    handle.addEventListener('pointermove', (event) => move(event, false));
    handle.addEventListener('pointerup', (event) => move(event, true));
    handle.addEventListener('pointercancel', (event) => move(event, true));
  }

  /** `box` with one face moved `mm` along its axis, kept within the image and a voxel thick. */
  dragged(box, axis, side, mm) {
    const bounds = boxOfBounds(this.scene.fullGrid.getBounds());
    const thinnest = Math.min(...this.scene.fullGrid.getSpacing());
    const next = { min: [...box.min], max: [...box.max] };
    const value = box[side][axis] + mm;
    next[side][axis] =
      side === 'min'
        ? Math.min(Math.max(value, bounds.min[axis]), box.max[axis] - thinnest)
        : Math.max(Math.min(value, bounds.max[axis]), box.min[axis] + thinnest);
    return next;
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.camera.unsubscribe();
    this.layer.remove();
  }
}
