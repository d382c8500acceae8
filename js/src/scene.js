// The vtk.js scene: one render window, an image volume, three slice planes,
// a label-map overlay, and point-set and mesh layers. Pipelines are explicit: imageData -> mapper -> actor -> renderer.
import '@kitware/vtk.js/Rendering/Profiles/Volume';
import '@kitware/vtk.js/Rendering/Profiles/Geometry';
import '@kitware/vtk.js/Rendering/OpenGL/RenderWindow'; // registers the 'WebGL' view

import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import vtkInteractorStyleTrackballCamera from '@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera';
import vtkImageMapper from '@kitware/vtk.js/Rendering/Core/ImageMapper';
import { SlicingMode } from '@kitware/vtk.js/Rendering/Core/ImageMapper/Constants';
import vtkImageSlice from '@kitware/vtk.js/Rendering/Core/ImageSlice';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';
import vtkRenderWindowInteractor from '@kitware/vtk.js/Rendering/Core/RenderWindowInteractor';
import vtkVolume from '@kitware/vtk.js/Rendering/Core/Volume';
import vtkVolumeMapper from '@kitware/vtk.js/Rendering/Core/VolumeMapper';

import { colorFunction, labelFunctions, opacityFunction } from './colormaps.js';
import { GeometryLayer } from './geometry.js';

const TYPED_ARRAYS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
};

/** Wrap a received volume ({shape, dtype, spacing, origin, direction, data}) as vtkImageData. */
export function toImageData(volume) {
  const ArrayType = TYPED_ARRAYS[volume.dtype];
  if (!ArrayType) throw new Error(`unsupported voxel type ${volume.dtype}`);
  const bytes = volume.data; // DataView (binary buffer from the kernel)
  const values = new ArrayType(bytes.buffer, bytes.byteOffset, bytes.byteLength / ArrayType.BYTES_PER_ELEMENT);
  const [nz, ny, nx] = volume.shape;
  if (values.length !== nx * ny * nz) {
    throw new Error(`volume has ${values.length} voxels, expected ${nx}x${ny}x${nz}`);
  }
  const imageData = vtkImageData.newInstance();
  imageData.setDimensions(nx, ny, nz); // [z, y, x] C order == VTK's x-fastest order
  imageData.setSpacing(volume.spacing);
  imageData.setOrigin(volume.origin);
  imageData.setDirection(volume.direction); // column-major, as sent by Python
  imageData.getPointData().setScalars(vtkDataArray.newInstance({ name: 'scalars', numberOfComponents: 1, values }));
  return imageData;
}

/** A grid without voxels ({shape, spacing, origin, direction}): maps indices to positions. */
function toGrid({ shape, spacing, origin, direction }) {
  const grid = vtkImageData.newInstance();
  grid.setDimensions(shape[2], shape[1], shape[0]);
  grid.setSpacing(spacing);
  grid.setOrigin(origin);
  grid.setDirection(direction);
  return grid;
}

function makeSlicePlanes(renderer) {
  return [SlicingMode.I, SlicingMode.J, SlicingMode.K].map((mode) => {
    const mapper = vtkImageMapper.newInstance();
    mapper.setSlicingMode(mode);
    const actor = vtkImageSlice.newInstance();
    actor.setMapper(mapper);
    actor.setVisibility(false);
    renderer.addActor(actor);
    return { mapper, actor };
  });
}

export class Scene {
  constructor(container, { background = [0, 0, 0] } = {}) {
    this.container = container;
    this.renderWindow = vtkRenderWindow.newInstance();
    this.renderer = vtkRenderer.newInstance({ background });
    this.renderWindow.addRenderer(this.renderer);
    this.glWindow = this.renderWindow.newAPISpecificView('WebGL');
    this.glWindow.setContainer(container);
    // Made before vtk.js asks for it, so vtk.js gets this context back: a drawing buffer
    // kept after each frame lets a screenshot read the picture without rendering again.
    const context = this.glWindow.getCanvas().getContext('webgl2', {
      preserveDrawingBuffer: true,
      depth: true,
      alpha: true,
      powerPreference: 'high-performance',
    });
    this.preserved = !!context && context.getContextAttributes().preserveDrawingBuffer;
    this.gl = context;
    this.maxTextureSide = context ? context.getParameter(context.MAX_3D_TEXTURE_SIZE) : 2048;
    this.renderWindow.addView(this.glWindow);
    this.interactor = vtkRenderWindowInteractor.newInstance();
    this.interactor.setInteractorStyle(vtkInteractorStyleTrackballCamera.newInstance());
    this.interactor.setView(this.glWindow);
    this.interactor.initialize();
    this.interactor.bindEvents(container);

    this.volumeMapper = vtkVolumeMapper.newInstance();
    this.volumeMapper.setSampleDistance(1.0);
    this.volume = vtkVolume.newInstance();
    this.volume.setMapper(this.volumeMapper);
    this.volume.setVisibility(false);
    this.renderer.addVolume(this.volume);

    // The label map is a volume of its own, drawn with nearest-neighbour lookups.
    this.labelMapper = vtkVolumeMapper.newInstance();
    this.labelVolume = vtkVolume.newInstance();
    this.labelVolume.setMapper(this.labelMapper);
    this.labelVolume.setVisibility(false);
    this.renderer.addVolume(this.labelVolume);

    this.imagePlanes = makeSlicePlanes(this.renderer);
    this.labelPlanes = makeSlicePlanes(this.renderer);

    this.image = null;
    this.labels = null;
    // An image over the texture budget is shown from a level; `fullGrid` is its
    // full-resolution grid (no voxels), `planes` its full-resolution slices.
    this.fullGrid = null;
    this.planes = [];
    this.sliceIndices = [0, 0, 0];
    this.geometries = new Map(); // layer name -> GeometryLayer
    this.layerSettings = {}; // layer name -> {visible, color, opacity, size, cmap}
    this.mode = 'volume';
    // A new image is first drawn unshaded: the shaded ray-casting shader can take
    // seconds to compile on software or slow GPUs, and a first picture should not wait.
    this.preview = true;
    this.resize();
  }

  /**
   * Show a new image, or another level of the same one. Keeps the camera when the
   * full-resolution grid keeps its bounds.
   */
  setImage(volume) {
    const tooLarge = volume.shape.find((n) => n > this.maxTextureSide);
    if (tooLarge) {
      throw new Error(
        `a ${[...volume.shape].reverse().join(' × ')} volume does not fit: this browser's GPU takes ` +
          `3D textures of at most ${this.maxTextureSide} voxels per side. Lower max_voxels, or view a region (image[z0:z1, y0:y1, x0:x1]).`,
      );
    }
    const imageData = toImageData(volume);
    const fullGrid = volume.full ? toGrid(volume.full) : imageData;
    const sameBounds = this.fullGrid && sameArray(this.fullGrid.getBounds(), fullGrid.getBounds());
    this.fullGrid = fullGrid;
    this.image = imageData;
    this.volumeMapper.setInputData(imageData, 0);
    for (const { mapper } of this.imagePlanes) mapper.setInputData(imageData);
    const spacing = Math.min(...volume.spacing);
    const property = this.volume.getProperty(0);
    property.setInterpolationTypeToLinear();
    this.preview = true;
    this.applyShading();
    property.setAmbient(0.25);
    property.setDiffuse(0.75);
    property.setSpecular(0.2);
    property.setScalarOpacityUnitDistance(0, spacing * 2);
    this.volumeMapper.setSampleDistance(spacing * 0.7);
    this.applySlices();
    this.updateVisibility(); // before resetting: the camera fits visible props only
    if (!sameBounds) this.resetCamera();
  }

  /** Overlay a label map on the same grid, or remove it with null. */
  setLabels(volume, colors) {
    this.labels = volume ? toImageData(volume) : null;
    this.labelColors = colors || [];
    if (this.labels) {
      this.labelMapper.setInputData(this.labels);
      this.labelMapper.setSampleDistance(Math.min(...volume.spacing) * 0.7);
      this.labelPlanes.forEach(({ actor }) => {
        actor.getProperty().setInterpolationTypeToNearest();
        actor.getProperty().setUseLookupTableScalarRange(true);
      });
      const property = this.labelVolume.getProperty();
      property.setInterpolationTypeToNearest();
      this.applyShading();
      property.setAmbient(0.4);
      property.setDiffuse(0.6);
    }
    this.applySlices();
    this.updateVisibility();
  }

  /** Apply colormap preset, window/level and opacity to every representation. */
  setAppearance({ preset, window, level, opacity, labelOpacity, gradientOpacity = 0 }) {
    this.appearance = { preset, window, level, opacity, labelOpacity, gradientOpacity };
    const low = level - window / 2;
    const high = level + window / 2;
    const ctf = colorFunction(preset, low, high);
    const pwf = opacityFunction(preset, low, high, opacity, this.mode);
    const property = this.volume.getProperty(0);
    property.setRGBTransferFunction(0, ctf);
    property.setScalarOpacity(0, pwf);
    // Gradient opacity fades homogeneous regions so that boundaries stand out:
    // at strength g, voxels with no gradient keep (1 - g) of their opacity.
    property.setUseGradientOpacity(0, gradientOpacity > 0);
    property.setGradientOpacityMinimumValue(0, 0);
    property.setGradientOpacityMinimumOpacity(0, 1 - gradientOpacity);
    property.setGradientOpacityMaximumValue(0, window * 0.1);
    property.setGradientOpacityMaximumOpacity(0, 1);
    this.imagePlanes.forEach(({ actor }) => {
      const sliceProperty = actor.getProperty();
      sliceProperty.setRGBTransferFunction(0, ctf);
      sliceProperty.setUseLookupTableScalarRange(true);
    });
    if (this.labels) {
      // Slices take the overlay's opacity as a whole; the volume per sample.
      const { colors, opacities } = labelFunctions(this.labelColors);
      const labelProperty = this.labelVolume.getProperty();
      labelProperty.setRGBTransferFunction(0, colors);
      labelProperty.setScalarOpacity(0, labelFunctions(this.labelColors, labelOpacity).opacities);
      labelProperty.setScalarOpacityUnitDistance(0, Math.min(...this.labels.getSpacing()));
      this.labelPlanes.forEach(({ actor }) => {
        const sliceProperty = actor.getProperty();
        sliceProperty.setRGBTransferFunction(0, colors);
        sliceProperty.setPiecewiseFunction(0, opacities);
        sliceProperty.setOpacity(labelOpacity);
      });
    }
  }

  setMode(mode) {
    this.mode = mode;
    if (mode === 'mip') this.volumeMapper.setBlendModeToMaximumIntensity();
    else this.volumeMapper.setBlendModeToComposite();
    this.applyShading();
    if (this.appearance) this.setAppearance(this.appearance); // opacity depends on the mode
    this.updateVisibility();
  }

  /** Leave preview quality: shade the volume. Returns true when the picture changes. */
  refine() {
    if (!this.preview) return false;
    this.preview = false;
    this.applyShading();
    return this.mode === 'volume';
  }

  applyShading() {
    const shade = this.mode === 'volume' && !this.preview;
    this.volume.getProperty(0).setShade(shade);
    this.labelVolume.getProperty().setShade(shade);
  }

  /** Slice positions as voxel indices (i, j, k) of the full-resolution image. */
  setSlices(indices) {
    this.sliceIndices = [...indices];
    this.applySlices();
  }

  /** Full-resolution planes ([{axis, index, image, labels?}]) of an image shown from a level. */
  setPlanes(planes) {
    this.planes = (planes || []).map(({ axis, index, image, labels }) => ({
      axis,
      index,
      image: toImageData(image),
      labels: labels?.shape ? toImageData(labels) : null,
    }));
    this.applySlices();
  }

  /**
   * Each slice shows the full-resolution plane at its position when there is one,
   * else the shown level's nearest slice (until that plane arrives).
   */
  applySlices() {
    if (!this.image) return;
    this.sliceIndices.forEach((index, axis) => {
      const plane = this.planes.find((p) => p.axis === axis && p.index === index);
      const image = this.imagePlanes[axis].mapper;
      image.setInputData(plane ? plane.image : this.image);
      image.setSlice(plane ? 0 : this.levelIndex(this.image, axis, index));
      if (!this.labels) return;
      const labels = this.labelPlanes[axis].mapper;
      const fromPlane = plane?.labels;
      labels.setInputData(fromPlane ? plane.labels : this.labels);
      labels.setSlice(fromPlane ? 0 : this.levelIndex(this.labels, axis, index));
    });
  }

  /** The slice of `grid` nearest to full-resolution index `index` along `axis`. */
  levelIndex(grid, axis, index) {
    if (grid === this.fullGrid) return index;
    const ijk = [0, 0, 0];
    ijk[axis] = index;
    const position = this.fullGrid.indexToWorld(ijk, [0, 0, 0]);
    const levelIjk = grid.worldToIndex(position, [0, 0, 0]);
    const last = grid.getDimensions()[axis] - 1;
    return Math.min(last, Math.max(0, Math.round(levelIjk[axis])));
  }

  /** Replace the point-set and mesh layers (payloads as synced from Python). */
  setGeometries(layers) {
    for (const geometry of this.geometries.values()) this.renderer.removeActor(geometry.actor);
    this.geometries = new Map(layers.map((layer) => [layer.name, new GeometryLayer(layer)]));
    for (const geometry of this.geometries.values()) this.renderer.addActor(geometry.actor);
    this.setLayerSettings(this.layerSettings);
    if (!this.image && this.geometries.size) this.resetCamera();
  }

  /** Per-layer settings: {image: {visible}, labels: {visible}, <name>: {visible, color, ...}}. */
  setLayerSettings(settings) {
    this.layerSettings = settings || {};
    for (const [name, geometry] of this.geometries) geometry.apply(this.layerSettings[name] || {});
    this.updateVisibility();
  }

  hasContent() {
    return !!this.image || this.geometries.size > 0;
  }

  shown(name) {
    return this.layerSettings[name]?.visible !== false;
  }

  updateVisibility() {
    const hasImage = !!this.image && this.shown('image');
    const hasLabels = !!this.labels && this.shown('labels');
    const slices = this.mode === 'slices';
    this.volume.setVisibility(hasImage && !slices);
    for (const { actor } of this.imagePlanes) actor.setVisibility(hasImage && slices);
    for (const { actor } of this.labelPlanes) actor.setVisibility(hasLabels && slices);
    // MIP of a label map means nothing: the overlay shows in volume and slice modes.
    this.labelVolume.setVisibility(hasLabels && this.mode === 'volume');
  }

  /** Anterior view, superior up: the radiological coronal view of LPS data. */
  resetCamera() {
    const camera = this.renderer.getActiveCamera();
    camera.setFocalPoint(0, 0, 0);
    camera.setPosition(0, -1, 0);
    camera.setViewUp(0, 0, 1);
    this.renderer.resetCamera();
  }

  getCamera() {
    const camera = this.renderer.getActiveCamera();
    return {
      position: Array.from(camera.getPosition()),
      focal_point: Array.from(camera.getFocalPoint()),
      view_up: Array.from(camera.getViewUp()),
    };
  }

  setCamera({ position, focal_point: focalPoint, view_up: viewUp }) {
    const camera = this.renderer.getActiveCamera();
    if (position) camera.setPosition(...position);
    if (focalPoint) camera.setFocalPoint(...focalPoint);
    if (viewUp) camera.setViewUp(...viewUp);
    this.renderer.resetCameraClippingRange();
  }

  /** Turn the camera about the view-up axis (the `rotate` animation). */
  spin(degrees) {
    this.renderer.getActiveCamera().azimuth(degrees);
    this.renderer.resetCameraClippingRange();
  }

  /**
   * Call `callback` once the GPU has finished everything drawn so far. Rendering is
   * asynchronous: on a slow GPU (or SwiftShader) a frame reaches the screen seconds
   * after render() returns, and work queued meanwhile would delay it further.
   */
  whenDrawn(callback) {
    const gl = this.gl;
    if (!gl) return setTimeout(callback, 0);
    const fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    // A fence's status changes between tasks only, so it is polled from timers. Once
    // signalled, two animation frames let the compositor put the picture on screen.
    const poll = () => {
      if (gl.getSyncParameter(fence, gl.SYNC_STATUS) !== gl.SIGNALED) return setTimeout(poll, 15);
      gl.deleteSync(fence);
      return requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(callback, 0)));
    };
    return setTimeout(poll, 0);
  }

  /** The picture on screen: {width, height, rgba} (rows top to bottom). */
  capture() {
    // Without a kept drawing buffer, render and read in the same task, before it is cleared.
    if (!this.preserved) this.render();
    const source = this.glWindow.getCanvas();
    const canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height;
    const context = canvas.getContext('2d');
    context.drawImage(source, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    return { width: canvas.width, height: canvas.height, rgba: data };
  }

  onCameraChange(callback) {
    return this.renderer.getActiveCamera().onModified(callback);
  }

  setBackground(rgb) {
    this.renderer.setBackground(...rgb);
  }

  resize() {
    const { width, height } = this.container.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.glWindow.setSize(Math.max(1, Math.floor(width * ratio)), Math.max(1, Math.floor(height * ratio)));
    this.render();
  }

  render() {
    this.renderWindow.render();
  }

  destroy() {
    this.interactor.unbindEvents();
    this.interactor.delete();
    this.glWindow.setContainer(null);
    this.glWindow.delete();
    this.renderWindow.delete();
  }
}

function sameArray(a, b) {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
}
