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

/**
 * Discrete colour and opacity functions of a label map: `colors` is a list of
 * [label, r, g, b] (0..1); label 0 and unlisted labels are transparent.
 */
export function labelFunctions(colors, opacity = 1) {
  const ctf = vtkColorTransferFunction.newInstance();
  const pwf = vtkPiecewiseFunction.newInstance();
  ctf.addRGBPoint(0, 0, 0, 0);
  pwf.addPoint(0, 0);
  for (const [label, r, g, b] of colors) {
    if (label === 0) continue;
    // Steps half a unit either side keep linear interpolation from bleeding.
    for (const v of [label - 0.49, label + 0.49]) {
      ctf.addRGBPoint(v, r, g, b);
      pwf.addPoint(v, opacity);
    }
    pwf.addPoint(label - 0.5, 0);
    pwf.addPoint(label + 0.5, 0);
  }
  return { colors: ctf, opacities: pwf };
}
