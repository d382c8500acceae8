// OME-NGFF multiscale metadata (0.4 in a group's attributes, 0.5 under "ome") as the
// levels a stream reads: each level's array path, shape, chunks and its placement in
// millimetres. Pure: tested under node (js/test/). The rules follow voxlite.io.omezarr,
// so that a stream and a CPython reading of the same file agree on the geometry.

/** What reading `attributes` as OME-Zarr found wrong, as a message. */
export class MetadataError extends Error {}

const SPATIAL = ['z', 'y', 'x'];

function axisKind(axis) {
  const name = String(typeof axis === 'object' && axis ? axis.name : axis);
  if (SPATIAL.includes(name)) return name;
  const type = typeof axis === 'object' && axis ? axis.type : undefined;
  if (name === 't' || type === 'time') return 'time';
  if (name === 'c' || type === 'channel') return 'channel';
  return name;
}

function numbers(values, count, what) {
  if (!Array.isArray(values) || values.length !== count || !values.every((v) => Number.isFinite(Number(v)))) {
    throw new MetadataError(`${what} ${JSON.stringify(values)} is not ${count} numbers`);
  }
  return values.map(Number);
}

/**
 * The multiscale image in a group's attributes: {name, axes, kinds, unit, mmPerUnit,
 * datasets: [{path, scale, translation}], omero}. `mmPerUnit`: voxlite's unit table
 * (voxlite.io.units, sent by Python).
 */
export function parseMultiscales(attributes, mmPerUnit = {}) {
  const ome = attributes?.ome && typeof attributes.ome === 'object' ? attributes.ome : attributes;
  const multiscales = ome?.multiscales;
  if (!Array.isArray(multiscales) || !multiscales.length) {
    throw new MetadataError("not an OME-Zarr image: no 'multiscales' in its attributes");
  }
  const scales = multiscales[0];
  if (!scales || typeof scales !== 'object') throw new MetadataError("its 'multiscales' is not a list of objects");
  const axes = Array.isArray(scales.axes) ? scales.axes : ['t', 'c', 'z', 'y', 'x'].slice(-5);
  const kinds = axes.map(axisKind);
  const spatial = SPATIAL.map((name) => kinds.indexOf(name));
  if (spatial.includes(-1)) throw new MetadataError(`axes ${JSON.stringify(kinds)}: a stream needs z, y and x`);
  if (!(spatial[0] < spatial[1] && spatial[1] < spatial[2])) {
    throw new MetadataError(`axes ${JSON.stringify(kinds)}: the spatial axes must be stored in z, y, x order`);
  }
  const units = axes.map((a) => String((typeof a === 'object' && a?.unit) || '').toLowerCase());
  const spatialUnits = new Set(spatial.map((i) => units[i]));
  const unit = spatialUnits.size === 1 ? [...spatialUnits][0] : '';
  const mm = mmPerUnit[unit];
  if (!Array.isArray(scales.datasets) || !scales.datasets.length) {
    throw new MetadataError("its 'datasets' is not a list of objects");
  }
  const datasets = scales.datasets.map((dataset) => {
    const path = dataset?.path;
    if (typeof path !== 'string' || !path || path.startsWith('/') || path.split('/').includes('..')) {
      throw new MetadataError(`dataset path ${JSON.stringify(path)} is not a path inside the group`);
    }
    let scale = axes.map(() => 1);
    let translation = axes.map(() => 0);
    for (const transform of dataset.coordinateTransformations || []) {
      if (transform?.type === 'scale') scale = numbers(transform.scale, axes.length, 'scale');
      if (transform?.type === 'translation') translation = numbers(transform.translation, axes.length, 'translation');
    }
    const xyz = (values, fallback) => [2, 1, 0].map((n) => values[spatial[n]] * (mm ?? 1) || fallback);
    return { path, spacing: xyz(scale, 1), origin: xyz(translation, 0) };
  });
  return {
    name: String(scales.name || ''),
    kinds,
    spatial,
    unit: mm === undefined ? null : 'mm',
    unitInFile: unit || null,
    datasets,
    omero: attributes?.omero || ome?.omero || null,
  };
}

/**
 * The levels of an image: each dataset with its array's shape and chunks in [z, y, x],
 * the index kept on every other axis (the first time point and channel), finest first.
 * `arrays`: [{shape, chunks, dtype, fillValue}] as zarr read them, one per dataset.
 */
export function describeLevels(image, arrays) {
  const { kinds, spatial } = image;
  return image.datasets.map((dataset, n) => {
    const array = arrays[n];
    if (array.shape.length !== kinds.length) {
      throw new MetadataError(`dataset ${dataset.path} has ${array.shape.length} axes; its axes say ${kinds.length}`);
    }
    for (let axis = 0; axis < kinds.length; axis += 1) {
      if (!spatial.includes(axis) && !['time', 'channel'].includes(kinds[axis]) && array.shape[axis] !== 1) {
        throw new MetadataError(
          `axes ${JSON.stringify(kinds)}: voxlite shows no ${kinds[axis]} axis of ${array.shape[axis]}`,
        );
      }
    }
    return {
      ...dataset,
      shape: spatial.map((a) => array.shape[a]),
      chunks: spatial.map((a) => array.chunks[a]),
      storedShape: [...array.shape],
      storedChunks: [...array.chunks],
      dtype: array.dtype,
      fillValue: array.fillValue,
    };
  });
}

/**
 * What the image's `omero` metadata says of `channel`: its window (width, level), from
 * OME's `window: {start, end}` (the range its author chose to show), and its label; null
 * for what it does not say, or says wrongly.
 */
export function omeroChannel(omero, channel = 0) {
  const stated = omero?.channels?.[channel];
  const start = Number(stated?.window?.start);
  const end = Number(stated?.window?.end);
  const window =
    Number.isFinite(start) && Number.isFinite(end) && end > start ? [end - start, (start + end) / 2] : null;
  const label = typeof stated?.label === 'string' && stated.label ? stated.label.slice(0, 80) : null;
  return { window, label };
}
