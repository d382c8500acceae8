// Label maps as the views draw them. Each label present gets a dense index (1..n; 0 is no
// label) and the views draw those indices: colour tables then stay small and exact whatever
// the label numbers are (0..65535), and vtk.js' outline shader, which reads 8-bit segment
// indices, works for up to 255 labels. The readout reads the labels themselves.
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';

import { imageDataOf, voxelsOf } from './volumes.js';

// payload.data -> {table key, vtkImageData of dense indices}
const remapped = new WeakMap();

export class LabelTable {
  /** `colors`: [[label, r, g, b], ...] (0..1) of the labels present, label 0 excluded. */
  constructor(colors = []) {
    this.entries = colors.filter(([label]) => label > 0);
    this.key = this.entries.map(([label]) => label).join(',');
    const largest = this.entries.reduce((most, [label]) => Math.max(most, label), 0);
    this.lut = new Uint16Array(largest + 1); // label -> dense index
    this.entries.forEach(([label], i) => {
      this.lut[label] = i + 1;
    });
  }

  get size() {
    return this.entries.length;
  }

  /** The dense indices of a received label volume (or plane), as vtkImageData, made once. */
  denseImage(volume) {
    const known = remapped.get(volume.data);
    if (known?.key === this.key) return known.imageData;
    const labels = voxelsOf(volume);
    const ArrayType = this.size > 255 ? Float32Array : Uint8Array;
    const dense = new ArrayType(labels.length);
    const { lut } = this;
    for (let v = 0; v < labels.length; v += 1) {
      const label = labels[v];
      dense[v] = label < lut.length ? lut[label] : 0;
    }
    const imageData = imageDataOf(volume, dense);
    remapped.set(volume.data, { key: this.key, imageData });
    return imageData;
  }

  /**
   * Colour and opacity functions over the dense indices: `opacity` for each label shown,
   * 0 for label 0 and for the `hidden` labels (a Set of label numbers).
   */
  functions(opacity = 1, hidden = new Set()) {
    const colors = vtkColorTransferFunction.newInstance();
    const opacities = vtkPiecewiseFunction.newInstance();
    colors.addRGBPoint(0, 0, 0, 0);
    opacities.addPoint(0, 0);
    this.entries.forEach(([label, r, g, b], i) => {
      const index = i + 1;
      const shown = hidden.has(label) ? 0 : opacity;
      // Steps half a unit either side keep interpolation in the tables from bleeding.
      for (const v of [index - 0.49, index + 0.49]) {
        colors.addRGBPoint(v, r, g, b);
        opacities.addPoint(v, shown);
      }
      opacities.addPoint(index - 0.5, 0);
      opacities.addPoint(index + 0.5, 0);
    });
    if (!this.size) colors.addRGBPoint(1, 0, 0, 0);
    return { colors, opacities };
  }

  /** Per dense index (from 1): the outline's opacity, 0 for hidden labels. */
  outlineOpacities(hidden = new Set()) {
    return this.entries.length ? this.entries.map(([label]) => (hidden.has(label) ? 0 : 1)) : [1];
  }

  /** The colour of a label as '#rrggbb', or null when it is not present. */
  hex(label) {
    const entry = this.entries.find(([value]) => value === label);
    if (!entry) return null;
    return `#${entry
      .slice(1)
      .map((c) =>
        Math.round(c * 255)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')}`;
  }
}

/** A label's name: label_names' (keys are decimal strings), else "label N". */
export function labelName(names, label) {
  const name = names?.[String(label)];
  return typeof name === 'string' && name ? name : `label ${label}`;
}
