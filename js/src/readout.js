// The readout: what is under the mouse (or at the crosshair when the mouse is elsewhere):
// the voxel index [i, j, k], the point in LPS and RAS millimetres, the image's value there
// (from the full-resolution plane when the page has it, else the level shown: "(level)"),
// and the label with its name. Text only (names are anybody's input).
import { element } from './helpers.js';
import { labelName } from './labels.js';
import { toGrid, toImageData, valueAt, voxelOf } from './volumes.js';

/** Reads values of the image (and label map) the model holds, at physical points. */
export class Probe {
  constructor() {
    this.grid = null;
  }

  /** The received payloads: the image (a level, or all of it), the label map, the planes. */
  update({ image, labels, planes }) {
    if (!image?.shape) {
      this.grid = null;
      return;
    }
    this.level = toImageData(image);
    this.grid = image.full ? toGrid(image.full) : this.level;
    this.labels = labels?.shape ? toImageData(labels) : null;
    this.planes = (planes || []).map((plane) => ({
      axis: plane.axis,
      index: plane.index,
      image: toImageData(plane.image),
      labels: plane.labels?.shape ? toImageData(plane.labels) : null,
      approximate: plane.level > 0, // a streamed plane read at a coarser level
    }));
  }

  /** What lies at a physical point: {index, lps, ras, value, approximate, label} (null: no image). */
  sample(point) {
    if (!this.grid) return null;
    const { index, voxel } = voxelOf(this.grid, point);
    const dims = this.grid.getDimensions();
    const inside = index.every((v, axis) => v >= -0.5 && v <= dims[axis] - 0.5);
    const lps = [...point];
    const result = { index: voxel, lps, ras: [-lps[0], -lps[1], lps[2]], inside };
    if (!inside) return result;
    const centre = this.grid.indexToWorld(voxel, [0, 0, 0]);
    const plane = this.planes.find((p) => p.index === voxel[p.axis]);
    const image = this.read(plane?.image, this.level, centre);
    if (plane?.approximate) image.approximate = true;
    const labels = this.labels ? this.read(plane?.labels, this.labels, centre) : null;
    return {
      ...result,
      value: image.value,
      approximate: image.approximate,
      label: labels?.value ?? null,
    };
  }

  /** The value at `centre`: from `exact` (a full-resolution plane) if given, else from `level`. */
  read(exact, level, centre) {
    if (exact) return { value: valueAt(exact, exact.worldToIndex(centre, [0, 0, 0])), approximate: false };
    const approximate = level.getDimensions().join() !== this.grid.getDimensions().join();
    return { value: valueAt(level, level.worldToIndex(centre, [0, 0, 0])), approximate };
  }
}

/** The readout's box, over the views. */
export class Readout {
  constructor() {
    this.element = element('div', { class: 'voxlite-readout voxlite-overlay', 'aria-live': 'off' });
    this.element.hidden = true;
  }

  /** Show a sample (see Probe.sample), with `names` (label_names); null hides the box. */
  show(sample, names, where) {
    this.element.hidden = !sample;
    if (!sample) return;
    const { dataset } = this.element;
    dataset.where = where; // 'mouse' or 'cursor'
    dataset.index = sample.index.join(',');
    dataset.lps = sample.lps.map((v) => v.toFixed(3)).join(',');
    let first = `[${sample.index.join(', ')}]${sample.inside ? '' : ' outside the image'}`;
    if (sample.inside && sample.value !== null && sample.value !== undefined) {
      dataset.value = String(sample.value);
      first += `  value ${formatValue(sample.value)}${sample.approximate ? ' (level)' : ''}`;
    } else delete dataset.value;
    const lines = [first, `LPS ${millimetres(sample.lps)}`, `RAS ${millimetres(sample.ras)}`];
    if (sample.inside && sample.label !== null && sample.label !== undefined) {
      dataset.label = String(sample.label);
      const named = names?.[String(sample.label)];
      lines.push(
        sample.label && named ? `label ${sample.label}: ${labelName(names, sample.label)}` : `label ${sample.label}`,
      );
    } else delete dataset.label;
    this.element.textContent = lines.join('\n');
  }
}

function millimetres(point) {
  return `${point.map((v) => v.toFixed(1)).join(', ')} mm`;
}

function formatValue(value) {
  if (Array.isArray(value)) return `(${value.map(formatValue).join(', ')})`;
  if (Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(5)).toString();
}
