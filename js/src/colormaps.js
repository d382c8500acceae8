// Transfer functions built from the presets shared with Python (src/voxlite/presets.json).
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';

import presets from '../../src/voxlite/presets.json';

export const COLORMAPS = presets.colormaps;

function preset(name) {
  return COLORMAPS[name] || COLORMAPS.grayscale;
}

/** Colour function of a preset stretched over [low, high]. */
export function colorFunction(name, low, high) {
  const ctf = vtkColorTransferFunction.newInstance();
  const width = Math.max(high - low, 1e-6);
  for (const [x, r, g, b] of preset(name).colors) ctf.addRGBPoint(low + x * width, r, g, b);
  return ctf;
}

/**
 * The colours of a 2D view: the preset's, except for presets made for 3D rendering
 * (`grey_2d`: the CT and MR ones), which a slice shows as a grey ramp over the window,
 * as radiologists read it.
 */
export function sliceColorFunction(name, low, high) {
  return colorFunction(preset(name).grey_2d ? 'grayscale' : name, low, high);
}

// A maximum intensity projection shows colour alone: opaque above the window's floor.
const MIP_OPACITY = [
  [0, 0],
  [0.01, 1],
  [1, 1],
];

/** Opacity function of a preset over [low, high], scaled by `scale` (0..1). */
export function opacityFunction(name, low, high, scale = 1, mode = 'volume') {
  const pwf = vtkPiecewiseFunction.newInstance();
  const width = Math.max(high - low, 1e-6);
  const points = mode === 'mip' ? MIP_OPACITY : preset(name).opacity;
  for (const [x, a] of points) pwf.addPoint(low + x * width, a * scale);
  return pwf;
}

/** The preset's opacity curve over the window [low, high], as [value, opacity] points. */
export function presetOpacityPoints(name, low, high) {
  const width = Math.max(high - low, 1e-6);
  return preset(name).opacity.map(([x, a]) => [low + x * width, a]);
}

/** Opacity function of the transfer-function editor's [value, opacity] points, scaled by `scale`. */
export function pointsOpacityFunction(points, scale = 1) {
  const pwf = vtkPiecewiseFunction.newInstance();
  for (const [value, opacity] of points) pwf.addPoint(value, opacity * scale);
  return pwf;
}
