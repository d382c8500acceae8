// What an image payload holds per voxel, and how every view shows it (transfer.py sends it):
//   scalar     one value, through the colormap preset (scene.js, slice.js)
//   rgb, rgba  colour bytes, interleaved: shown as colour, not as a channel axis
//   channels   C <= 8 values, interleaved, each channel through its own colour ramp, window,
//              opacity and visibility (the `channels` trait)
// Slices of colour and channels are composed here on the CPU into an RGB(A) byte image one
// voxel thick, which vtk.js' image mapper shows as it is (dependent components through an
// identity ramp): channels add up, as microscopy viewers compose them, whatever their count.
// The 3D volume shows colour as dependent components (the bytes are the colour) and channels
// as vtk.js independent components, four per volume texture; channels 5-8 go to a second
// volume (ExtraVolume) drawn over the first.
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';
import vtkVolume from '@kitware/vtk.js/Rendering/Core/Volume';
import vtkVolumeMapper from '@kitware/vtk.js/Rendering/Core/VolumeMapper';

import { applyCrop } from './crop.js';
import { hexToRgb } from './helpers.js';
import { imageDataOf } from './volumes.js';

/** Components one volume texture holds (vtk.js' independent components). */
export const PER_TEXTURE = 4;
// The colour a volume voxel needs (length of its normalised RGB, in byte units) to be opaque.
const OPAQUE_COLOUR = 180;

/** A colour ramp black -> `rgb` over [low, high]. */
function ramp(rgb, low, high) {
  const ctf = vtkColorTransferFunction.newInstance();
  ctf.addRGBPoint(low, 0, 0, 0);
  ctf.addRGBPoint(Math.max(high, low + 1e-6), ...rgb);
  return ctf;
}

function opacityRamp(points) {
  const pwf = vtkPiecewiseFunction.newInstance();
  for (const [x, a] of points) pwf.addPoint(x, a);
  return pwf;
}

/** The bytes as they are: an identity ramp over 0..255 for each component. */
function identity() {
  return ramp([1, 1, 1], 0, 255);
}

/** A channel's settings as numbers: {rgb, low, high, opacity, shown}. */
function channelOf(setting, range) {
  const [min, max] = range || [0, 1];
  const window = setting?.window ?? Math.max(max - min, 1e-6);
  const level = setting?.level ?? (min + max) / 2;
  return {
    rgb: hexToRgb(setting?.color || '#ffffff'),
    low: level - window / 2,
    high: level + window / 2,
    opacity: setting?.opacity ?? 1,
    shown: setting?.visible !== false,
  };
}

/** The pixel kind of a received volume, and how a view shows it. */
export class ImageKind {
  constructor() {
    this.pixel = 'scalar';
    this.components = 1;
    this.ranges = [];
    this.settings = [];
    this.composed = new Map(); // axis -> {source, index, key, imageData}
  }

  get scalar() {
    return this.pixel === 'scalar';
  }

  /** The volume's independent components are channels (else: scalar, or colour bytes). */
  get independent() {
    return this.pixel === 'channels';
  }

  /** Lit in the ray cast: a colour image's bytes are its colour already (photos, histology). */
  get shaded() {
    return this.pixel !== 'rgb' && this.pixel !== 'rgba';
  }

  /** A new image payload. */
  setImage(volume) {
    this.pixel = volume.pixel || 'scalar';
    this.components = this.scalar ? 1 : volume.components;
    this.ranges = volume.ranges || [];
    this.composed.clear();
  }

  /** The `channels` trait: [{color, window, level, opacity, visible, name}, ...]. */
  setChannels(settings) {
    this.settings = settings || [];
  }

  channels() {
    return Array.from({ length: this.components }, (_, c) => channelOf(this.settings[c], this.ranges[c]));
  }

  /**
   * What an image mapper shows of `source` (vtkImageData) at slice `index` along `axis`:
   * {input, slice}; for colour and channels, the composed RGB(A) bytes of that slice.
   */
  sliceOf(source, axis, index) {
    if (this.scalar) return { input: source, slice: index };
    const key = JSON.stringify(this.settings);
    const known = this.composed.get(axis);
    if (known?.source === source && known.index === index && known.key === key)
      return { input: known.imageData, slice: 0 };
    const imageData = this.compose(source, axis, index);
    this.composed.set(axis, { source, index, key, imageData });
    return { input: imageData, slice: 0 };
  }

  compose(source, axis, index) {
    const dims = source.getDimensions();
    const values = source.getPointData().getScalars().getData();
    const components = this.components;
    const size = [...dims];
    size[axis] = 1;
    const out = this.pixel === 'rgba' ? 4 : 3;
    const bytes = new Uint8Array(size[0] * size[1] * size[2] * out);
    const channels = this.independent ? this.channels() : null;
    let o = 0;
    for (let k = 0; k < size[2]; k += 1) {
      for (let j = 0; j < size[1]; j += 1) {
        for (let i = 0; i < size[0]; i += 1) {
          const ijk = [i, j, k];
          ijk[axis] = index;
          const v = (ijk[0] + dims[0] * (ijk[1] + dims[1] * ijk[2])) * components;
          if (channels) addChannels(channels, values, v, bytes, o);
          else for (let c = 0; c < out; c += 1) bytes[o + c] = values[v + c];
          o += out;
        }
      }
    }
    const ijk = [0, 0, 0];
    ijk[axis] = index;
    const grid = {
      shape: [size[2], size[1], size[0]],
      spacing: source.getSpacing(),
      origin: source.indexToWorld(ijk, [0, 0, 0]),
      direction: source.getDirection(),
    };
    return imageDataOf(grid, bytes, out);
  }

  /** An image slice's property for a composed slice: its bytes as they are. */
  sliceProperty(property) {
    if (this.scalar) return;
    property.setIndependentComponents(false);
    property.setRGBTransferFunction(0, identity());
    property.setUseLookupTableScalarRange(true);
  }

  /** The 3D volume's property (component functions, weights) for colour and channels. */
  volumeProperty(property, { opacity = 1, mode = 'volume' } = {}, first = 0) {
    if (this.scalar) {
      for (let c = 0; c < PER_TEXTURE; c += 1) property.setComponentWeight(c, 1);
      return;
    }
    if (!this.independent) {
      property.setIndependentComponents(false);
      property.setRGBTransferFunction(0, identity());
      const points =
        mode === 'mip'
          ? [
              [0, 0],
              [1, opacity],
            ]
          : [
              [0, 0],
              [this.pixel === 'rgba' ? 255 : OPAQUE_COLOUR, opacity],
            ];
      property.setScalarOpacity(0, opacityRamp(points));
      return;
    }
    property.setIndependentComponents(true);
    const channels = this.channels().slice(first, first + PER_TEXTURE);
    channels.forEach((channel, c) => {
      property.setRGBTransferFunction(c, ramp(channel.rgb, channel.low, channel.high));
      const top = channel.opacity * opacity;
      const floor = mode === 'mip' ? channel.low + 0.01 * (channel.high - channel.low) : channel.high;
      property.setScalarOpacity(
        c,
        opacityRamp([
          [channel.low, 0],
          [floor, top],
          [Math.max(channel.high, floor) + 1e-6, top],
        ]),
      );
      property.setComponentWeight(c, channel.shown ? 1 : 0);
      property.setScalarOpacityUnitDistance(c, property.getScalarOpacityUnitDistance(0));
      property.setUseGradientOpacity(c, false);
    });
  }

  /** The volume textures of `imageData`: itself, or (over four channels) four and the rest. */
  textures(imageData) {
    if (!this.independent || this.components <= PER_TEXTURE) return [imageData];
    const known = split.get(imageData);
    if (known) return known;
    const parts = [0, PER_TEXTURE].map((first) => componentsOf(imageData, first, this.components));
    split.set(imageData, parts);
    return parts;
  }
}

const split = new WeakMap(); // vtkImageData -> its volume textures

/** Components first..first+3 of `imageData` (with `count` components) as image data of their own. */
function componentsOf(imageData, first, count) {
  const values = imageData.getPointData().getScalars().getData();
  const take = Math.min(PER_TEXTURE, count - first);
  const voxels = values.length / count;
  const part = new values.constructor(voxels * take);
  for (let v = 0; v < voxels; v += 1) {
    for (let c = 0; c < take; c += 1) part[v * take + c] = values[v * count + first + c];
  }
  const dims = imageData.getDimensions();
  const grid = {
    shape: [dims[2], dims[1], dims[0]],
    spacing: imageData.getSpacing(),
    origin: imageData.getOrigin(),
    direction: imageData.getDirection(),
  };
  return imageDataOf(grid, part, take);
}

/** Additive composition of the channels at value offset `v` into bytes[o..o+2]. */
function addChannels(channels, values, v, bytes, o) {
  let r = 0;
  let g = 0;
  let b = 0;
  for (let c = 0; c < channels.length; c += 1) {
    const channel = channels[c];
    if (!channel.shown) continue;
    const t = (values[v + c] - channel.low) / (channel.high - channel.low || 1e-6);
    const weight = Math.min(1, Math.max(0, t)) * channel.opacity;
    r += weight * channel.rgb[0];
    g += weight * channel.rgb[1];
    b += weight * channel.rgb[2];
  }
  bytes[o] = Math.round(255 * Math.min(1, r));
  bytes[o + 1] = Math.round(255 * Math.min(1, g));
  bytes[o + 2] = Math.round(255 * Math.min(1, b));
}

/**
 * The second volume of an image with 5-8 channels (channels 5 and on), drawn in the same
 * renderer as the first with the same blend mode and sampling. Absent otherwise.
 */
export class ExtraVolume {
  constructor(renderer) {
    this.renderer = renderer;
    this.volume = null;
  }

  /** Follow the scene: its image, kind, mode, quality and visibility (`scene`: a Scene). */
  sync(scene) {
    const { kind, image } = scene;
    const textures = image ? kind.textures(image) : [];
    if (textures.length < 2) return this.remove();
    if (!this.volume) {
      this.mapper = vtkVolumeMapper.newInstance();
      this.volume = vtkVolume.newInstance();
      this.volume.setMapper(this.mapper);
      this.renderer.addVolume(this.volume);
    }
    const main = scene.volumeMapper;
    if (this.mapper.getInputData() !== textures[1]) this.mapper.setInputData(textures[1]);
    this.mapper.setBlendMode(main.getBlendMode());
    this.mapper.setSampleDistance(main.getSampleDistance());
    applyCrop([this.mapper], scene.crop);
    const property = this.volume.getProperty();
    const first = scene.volume.getProperty();
    property.setInterpolationTypeToLinear();
    property.setShade(first.getShade());
    property.setScalarOpacityUnitDistance(0, first.getScalarOpacityUnitDistance(0));
    kind.volumeProperty(property, scene.kindAppearance(), PER_TEXTURE);
    this.volume.setVisibility(scene.volume.getVisibility());
  }

  remove() {
    if (!this.volume) return;
    this.renderer.removeVolume(this.volume);
    this.volume.delete();
    this.mapper.delete();
    this.volume = null;
  }
}

/** What a payload is, in words, for the panel and the status ("2D RGB colour image" ...). */
export function describeKind(volume) {
  const shape = volume.full?.shape || volume.shape;
  const flat = shape.filter((n) => n === 1).length === 1;
  const pixel = volume.pixel || 'scalar';
  const what = { scalar: '', rgb: 'RGB colour ', rgba: 'RGBA colour ', channels: `${volume.components}-channel ` }[
    pixel
  ];
  if (flat) return `2D ${what}image: one slice, in one 2D view`;
  return what ? `3D ${what}image` : '';
}
