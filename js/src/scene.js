// The 3D view's vtk.js scene, in its own renderer of the widget's render window: the image
// volume (with the label map in the same ray cast), three slice planes, and point-set and
// mesh layers. Pipelines are explicit: imageData -> mapper -> actor -> renderer.
import vtkImageMapper from '@kitware/vtk.js/Rendering/Core/ImageMapper';
import { SlicingMode } from '@kitware/vtk.js/Rendering/Core/ImageMapper/Constants';
import vtkImageSlice from '@kitware/vtk.js/Rendering/Core/ImageSlice';
import vtkVolume from '@kitware/vtk.js/Rendering/Core/Volume';
import vtkVolumeMapper from '@kitware/vtk.js/Rendering/Core/VolumeMapper';
import vtkVolumeProperty from '@kitware/vtk.js/Rendering/Core/VolumeProperty';
import { ColorMixPreset } from '@kitware/vtk.js/Rendering/Core/VolumeProperty/Constants';

import { colorFunction, opacityFunction, pointsOpacityFunction } from './colormaps.js';
import { applyCrop } from './crop.js';
import { GeometryLayer } from './geometry.js';
import { ExtraVolume, ImageKind } from './kinds.js';
import { LabelTable } from './labels.js';
import { toGrid, toImageData } from './volumes.js';

// Volume rendering samples per voxel (finest spacing) when refined, and in a preview.
const SAMPLES_PER_VOXEL = 1 / 0.7;
const PREVIEW_SAMPLES_PER_VOXEL = 1 / 2;

// The label map is the volume mapper's second input (a texture of its own, sampled nearest:
// labels are never interpolated into labels that are not there), blended with the image per
// sample in the one ray cast: the label's colour over the image's, the opacities combined
// (1 - (1 - a)(1 - b)), lit with the image's surface normal (the label map's where the image
// is flat). A second volume composited over the first would hide the image's surfaces.
const LABEL_MIX = `
  {
    float imageHeight = volume.transferFunctionsSampleHeight[0];
    float labelHeight = volume.transferFunctionsSampleHeight[1];
    float imageAlpha = getOpacityFromTexture(tValue[0], 0, imageHeight);
    float labelAlpha = getOpacityFromTexture(tValue[1], 1, labelHeight);
    #if defined(EnabledGradientOpacity) || vtkNumberOfLights > 0
      mat4 normals = computeMat4Normal(posIS, tValue);
    #endif
    #ifdef EnabledGradientOpacity
      imageAlpha *= computeGradientOpacityFactor(normals[0].a, 0);
    #endif
    float alpha = 1.0 - (1.0 - imageAlpha) * (1.0 - labelAlpha);
    if (alpha <= 0.0) {
      return vec4(0.0);
    }
    vec3 imageColor = getColorFromTexture(tValue[0], 0, imageHeight);
    vec3 labelColor = getColorFromTexture(tValue[1], 1, labelHeight);
    vec3 color = (imageColor * imageAlpha * (1.0 - labelAlpha) + labelColor * labelAlpha) / alpha;
    #if vtkNumberOfLights > 0
      vec4 normal = normals[0].w > 0.0 ? normals[0] : normals[1];
      if (normal.w > 0.0) {
        color = applyAllLightning(color, alpha, posVC, normal);
      }
    #endif
    return vec4(color, alpha);
  }
`;

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
  constructor(stage, { background = [0, 0, 0] } = {}) {
    this.stage = stage;
    this.renderer = stage.addRenderer({ background, interactive: true });
    this.volumeMapper = vtkVolumeMapper.newInstance();
    this.volumeMapper.setSampleDistance(1.0);
    this.volumeMapper.getViewSpecificProperties().OpenGL = {
      ShaderReplacements: [
        { shaderType: 'Fragment', originalValue: '//VTK::CustomColorMix', replacementValue: LABEL_MIX },
      ],
    };
    this.volume = vtkVolume.newInstance();
    this.volume.setMapper(this.volumeMapper);
    this.volume.setVisibility(false);
    this.labelProperty = vtkVolumeProperty.newInstance();
    this.labelProperty.setInterpolationTypeToNearest(); // the label texture is read nearest
    this.volume.setProperty(1, this.labelProperty);
    this.renderer.addVolume(this.volume);
    this.kind = new ImageKind(); // scalar, colour or channels (kinds.js)
    this.extra = new ExtraVolume(this.renderer); // channels 5-8

    this.imagePlanes = makeSlicePlanes(this.renderer);
    this.labelPlanes = makeSlicePlanes(this.renderer);

    this.image = null;
    this.labels = null; // dense label indices (see labels.js)
    this.table = new LabelTable();
    this.hidden = new Set();
    // An image over the texture budget is shown from a level; `fullGrid` is its
    // full-resolution grid (no voxels), `planes` its full-resolution slices.
    this.fullGrid = null;
    this.planes = [];
    this.sliceIndices = [0, 0, 0];
    this.geometries = new Map(); // layer name -> GeometryLayer
    this.layerSettings = {}; // layer name -> {visible, color, opacity, size, cmap}
    this.mode = 'volume';
    // A new image is first drawn unshaded, and so is every change while a control or a
    // gesture moves: the shaded ray cast can take seconds on software or slow GPUs (its
    // shader alone, the first time). The frame loop refines once things settle.
    this.preview = true;
    this.dirty = true;
  }

  /**
   * Show a new image, or another level of the same one. Keeps the camera when the
   * full-resolution grid keeps its bounds.
   */
  setImage(volume) {
    const tooLarge = volume.shape.find((n) => n > this.stage.maxTextureSide);
    if (tooLarge) {
      throw new Error(
        `a ${[...volume.shape].reverse().join(' × ')} volume does not fit: this browser's GPU takes ` +
          `3D textures of at most ${this.stage.maxTextureSide} voxels per side. Lower max_voxels, or view a region (image[z0:z1, y0:y1, x0:x1]).`,
      );
    }
    const imageData = toImageData(volume);
    const fullGrid = volume.full ? toGrid(volume.full) : imageData;
    const sameBounds = this.fullGrid && sameArray(this.fullGrid.getBounds(), fullGrid.getBounds());
    this.fullGrid = fullGrid;
    this.image = imageData;
    this.kind.setImage(volume);
    this.volumeMapper.setInputData(this.kind.textures(imageData)[0], 0);
    for (const { mapper } of this.imagePlanes) mapper.setInputData(imageData);
    const property = this.volume.getProperty(0);
    property.setInterpolationTypeToLinear();
    property.setAmbient(0.25);
    property.setDiffuse(0.75);
    property.setSpecular(0.2);
    property.setScalarOpacityUnitDistance(0, Math.min(...volume.spacing) * 2);
    this.toPreview();
    this.applySlices();
    this.updateVisibility(); // before resetting: the camera fits visible props only
    if (!sameBounds) this.resetCamera();
    this.dirty = true;
  }

  /** Overlay a label map (a received volume and its LabelTable), or remove it with null. */
  setLabels(volume, table) {
    this.labels = volume ? table.denseImage(volume) : null;
    this.table = table || new LabelTable();
    if (this.labels) {
      const property = this.volume.getProperty(0);
      property.setScalarOpacityUnitDistance(1, Math.min(...volume.spacing));
      // Colour tables sampled finely enough to give each label its own colour.
      const width = Math.min(this.stage.maxTextureWidth, Math.max(1024, 4 * (this.table.size + 1)));
      this.volumeMapper.setColorTextureWidth(width);
      this.volumeMapper.setOpacityTextureWidth(width);
      this.labelPlanes.forEach(({ actor }) => {
        actor.getProperty().setInterpolationTypeToNearest();
        actor.getProperty().setUseLookupTableScalarRange(true);
      });
    }
    this.applySlices();
    this.applyLabelInput();
    this.updateVisibility();
    this.dirty = true;
  }

  /** Labels drawn or hidden ({hidden: Set of labels}); the 3D view fills labels whatever the 2D display. */
  setLabelStyle({ hidden }) {
    const same = hidden.size === this.hidden.size && [...hidden].every((label) => this.hidden.has(label));
    this.hidden = hidden;
    if (this.appearance && !same) this.setAppearance(this.appearance);
  }

  /** Apply colormap preset, window/level and opacity to every representation. */
  setAppearance({ preset, window, level, opacity, labelOpacity, gradientOpacity = 0, opacityPoints = [] }) {
    this.appearance = { preset, window, level, opacity, labelOpacity, gradientOpacity, opacityPoints };
    const low = level - window / 2;
    const high = level + window / 2;
    const ctf = colorFunction(preset, low, high);
    // The editor's points (image units) replace the preset's curve in volume rendering;
    // a MIP stays opaque above the window's floor.
    const pwf =
      opacityPoints.length && this.mode === 'volume'
        ? pointsOpacityFunction(opacityPoints, opacity)
        : opacityFunction(preset, low, high, opacity, this.mode);
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
      this.kind.sliceProperty(sliceProperty);
    });
    this.kind.volumeProperty(property, this.kindAppearance());
    this.extra.sync(this);
    if (this.labels) {
      // Slices take the overlay's opacity as a whole; the volume per sample.
      const { colors, opacities } = this.table.functions(1, this.hidden);
      const perSample = this.table.functions(labelOpacity, this.hidden).opacities;
      property.setRGBTransferFunction(1, colors);
      property.setScalarOpacity(1, perSample);
      this.labelPlanes.forEach(({ actor }) => {
        const sliceProperty = actor.getProperty();
        sliceProperty.setRGBTransferFunction(0, colors);
        sliceProperty.setPiecewiseFunction(0, opacities);
        sliceProperty.setOpacity(labelOpacity);
      });
    }
    this.dirty = true;
  }

  /** The `channels` trait: each channel's colour, window, opacity and visibility. */
  setChannels(channels) {
    this.kind.setChannels(channels);
    if (this.appearance) this.setAppearance(this.appearance);
    this.applySlices();
    this.dirty = true;
  }

  kindAppearance() {
    return { opacity: this.appearance?.opacity ?? 1, mode: this.mode };
  }

  /** The crop box ({min, max} LPS mm, or {}): six clipping planes on the volume and the slice planes. */
  setCrop(crop) {
    this.crop = crop?.min ? crop : null;
    const mappers = [this.volumeMapper, ...this.imagePlanes, ...this.labelPlanes].map((m) => m.mapper || m);
    applyCrop(mappers, this.crop);
    this.extra.sync(this); // channels 5-8 are cut alike
    this.dirty = true;
  }

  setMode(mode) {
    const slicesShown = mode === 'slices' && this.mode !== 'slices';
    this.mode = mode;
    if (slicesShown) this.applySlices();
    if (mode === 'mip') this.volumeMapper.setBlendModeToMaximumIntensity();
    else this.volumeMapper.setBlendModeToComposite();
    this.applyLabelInput();
    this.applyQuality();
    if (this.appearance) this.setAppearance(this.appearance); // opacity depends on the mode
    this.updateVisibility();
    this.dirty = true;
  }

  // A MIP of a label map means nothing: the labels join the ray cast in volume mode only.
  applyLabelInput() {
    // Colour and channels fill the volume's components: their labels show in the slices only.
    const blended = !!this.labels && !!this.image && this.mode === 'volume' && this.shown('labels') && this.kind.scalar;
    const mapper = this.volumeMapper;
    if (blended && mapper.getNumberOfInputPorts() < 2)
      mapper.addInputData(this.labels); // port 1
    else if (mapper.getNumberOfInputPorts() > 1) mapper.setInputData(blended ? this.labels : null, 1);
    const property = this.volume.getProperty(0);
    property.setColorMixPreset(blended ? ColorMixPreset.CUSTOM : ColorMixPreset.DEFAULT);
    property.setIndependentComponents(blended || this.kind.independent);
  }

  /** Leave preview quality: shade the volume, sample it finely. Returns true when the picture changes. */
  refine() {
    if (!this.preview) return false;
    this.preview = false;
    this.applyQuality();
    const changes = this.volume.getVisibility();
    if (changes) this.dirty = true;
    return changes;
  }

  /** Preview quality for the next frames (a control or a gesture moves); true when it was refined. */
  toPreview() {
    if (this.preview) return false;
    this.preview = true;
    this.applyQuality();
    return true;
  }

  applyQuality() {
    const property = this.volume.getProperty(0);
    property.setShade(this.mode === 'volume' && !this.preview && this.kind.shaded);
    const spacing = this.image ? Math.min(...this.image.getSpacing()) : 1;
    const samples = this.preview ? PREVIEW_SAMPLES_PER_VOXEL : SAMPLES_PER_VOXEL;
    this.volumeMapper.setSampleDistance(spacing / samples);
    this.extra.sync(this);
  }

  /** Slice positions as voxel indices (i, j, k) of the full-resolution image. */
  setSlices(indices) {
    this.sliceIndices = [...indices];
    this.applySlices();
    if (this.mode === 'slices') this.dirty = true;
  }

  // 2D views' traits: the 3D view shows the crosshair through its slice planes (slices mode).
  setCursor() {}
  setMeasurements() {}

  /** Full-resolution planes ([{axis, index, image, labels?}]) of an image shown from a level. */
  setPlanes(planes) {
    this.planes = (planes || []).map(({ axis, index, image, labels }) => ({
      axis,
      index,
      image: toImageData(image),
      labels: labels?.shape ? labels : null,
    }));
    this.applySlices();
    if (this.mode === 'slices') this.dirty = true;
  }

  /**
   * Each slice shows the full-resolution plane at its position when there is one,
   * else the shown level's nearest slice (until that plane arrives).
   */
  applySlices() {
    // Colour and channel planes are composed on the CPU: only when they are shown.
    if (!this.image || (!this.kind.scalar && this.mode !== 'slices')) return;
    this.sliceIndices.forEach((index, axis) => {
      const plane = this.planes.find((p) => p.axis === axis && p.index === index);
      const image = this.imagePlanes[axis].mapper;
      const { input, slice } = this.kind.sliceOf(
        plane ? plane.image : this.image,
        axis,
        plane ? 0 : this.levelIndex(this.image, axis, index),
      );
      image.setInputData(input);
      image.setSlice(slice);
      if (!this.labels) return;
      const labels = this.labelPlanes[axis].mapper;
      const fromPlane = plane?.labels;
      labels.setInputData(fromPlane ? this.table.denseImage(plane.labels) : this.labels);
      labels.setSlice(fromPlane ? 0 : this.levelIndex(this.labels, axis, index));
    });
  }

  /** The slice of `grid` nearest to full-resolution index `index` along `axis`. */
  levelIndex(grid, axis, index) {
    return levelIndex(this.fullGrid, grid, axis, index);
  }

  /** Replace the point-set and mesh layers (payloads as synced from Python). */
  setGeometries(layers) {
    for (const geometry of this.geometries.values()) this.renderer.removeActor(geometry.actor);
    this.geometries = new Map(layers.map((layer) => [layer.name, new GeometryLayer(layer)]));
    for (const geometry of this.geometries.values()) this.renderer.addActor(geometry.actor);
    this.setLayerSettings(this.layerSettings);
    if (!this.image && this.geometries.size) this.resetCamera();
    this.dirty = true;
  }

  /** Per-layer settings: {image: {visible}, labels: {visible}, <name>: {visible, color, ...}}. */
  setLayerSettings(settings) {
    this.layerSettings = settings || {};
    for (const [name, geometry] of this.geometries) geometry.apply(this.layerSettings[name] || {});
    this.applyLabelInput();
    this.updateVisibility();
    this.dirty = true;
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
    this.extra.sync(this);
  }

  /** Anterior view, superior up: the radiological coronal view of LPS data. */
  resetCamera() {
    const camera = this.renderer.getActiveCamera();
    camera.setFocalPoint(0, 0, 0);
    camera.setPosition(0, -1, 0);
    camera.setViewUp(0, 0, 1);
    this.renderer.resetCamera();
    this.dirty = true;
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
    this.dirty = true;
  }

  /** Turn the camera about the view-up axis (the `rotate` animation). */
  spin(degrees) {
    this.renderer.getActiveCamera().azimuth(degrees);
    this.renderer.resetCameraClippingRange();
    this.dirty = true;
  }

  onCameraChange(callback) {
    return this.renderer.getActiveCamera().onModified(callback);
  }

  setBackground(rgb) {
    this.renderer.setBackground(...rgb);
    this.dirty = true;
  }

  destroy() {
    this.extra.remove();
    this.stage.removeRenderer(this.renderer);
    this.renderer.delete();
  }
}

/** The slice of `grid` (a level) nearest to index `index` of `fullGrid` along `axis`. */
export function levelIndex(fullGrid, grid, axis, index) {
  if (grid === fullGrid) return index;
  const ijk = [0, 0, 0];
  ijk[axis] = index;
  const position = fullGrid.indexToWorld(ijk, [0, 0, 0]);
  const levelIjk = grid.worldToIndex(position, [0, 0, 0]);
  const last = grid.getDimensions()[axis] - 1;
  return Math.min(last, Math.max(0, Math.round(levelIjk[axis])));
}

function sameArray(a, b) {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-6);
}
