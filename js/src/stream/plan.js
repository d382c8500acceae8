// What a view needs of a multiscale image, as plain numbers (pure: tested under node).
// Levels are {shape: [z, y, x], chunks: [z, y, x], spacing: [x, y, z], origin: [x, y, z]}
// (ngff.js), finest first. A region is [[z0, z1], [y0, y1], [x0, x1]] in a level's voxels.

const voxels = (shape) => shape.reduce((a, b) => a * b, 1);

/** The finest level that fits one volume texture: at most `maxVoxels`, no side over `maxSide`. */
export function finestWithin(levels, maxVoxels, maxSide) {
  const fits = levels.findIndex((level) => voxels(level.shape) <= maxVoxels && Math.max(...level.shape) <= maxSide);
  return fits === -1 ? levels.length - 1 : fits;
}

// The index axes [i, j, k] (x, y, z) of a level, as its [z, y, x] shape's positions.
const ZYX = [2, 1, 0];

/**
 * The level a 2D view slicing along `axis` (0, 1, 2: x, y, z) shows at `pixelSize` mm per
 * screen pixel: the coarsest whose voxels are no larger than a pixel in the view's plane
 * (screen resolution), the finest when even that is coarser (zoomed in).
 */
export function levelForPixel(levels, axis, pixelSize) {
  const inPlane = [0, 1, 2].filter((a) => a !== axis);
  for (let n = levels.length - 1; n >= 0; n -= 1) {
    if (Math.max(...inPlane.map((a) => levels[n].spacing[a])) <= pixelSize * (1 + 1e-6)) return n;
  }
  return 0;
}

/** The index of `level` along `axis` nearest to the full-resolution index `index` (by position). */
export function indexAt(full, level, axis, index) {
  const position = full.origin[axis] + index * full.spacing[axis];
  const at = Math.round((position - level.origin[axis]) / level.spacing[axis]);
  return Math.min(level.shape[ZYX[axis]] - 1, Math.max(0, at));
}

/**
 * The region of `level` a 2D view needs: the slice at `index` along `axis`, within
 * `window` (the part in view: [[x0, x1], [y0, y1], [z0, z1]] in the level's continuous
 * indices) when given, else all of it.
 */
export function sliceRegion(level, axis, index, window = null) {
  return [2, 1, 0].map((a) => {
    const size = level.shape[ZYX[a]];
    if (a === axis) return [index, index + 1];
    if (!window) return [0, size];
    const [low, high] = window[a];
    const start = Math.max(0, Math.min(size - 1, Math.floor(low + 0.5)));
    const stop = Math.max(start + 1, Math.min(size, Math.ceil(high + 0.5)));
    return [start, stop];
  });
}

/** The chunk coordinates ([z, y, x]) that cover `region`, in C order. */
export function chunksOf(region, chunks) {
  const ranges = region.map(([start, stop], a) => [Math.floor(start / chunks[a]), Math.ceil(stop / chunks[a])]);
  const found = [];
  for (let z = ranges[0][0]; z < ranges[0][1]; z += 1)
    for (let y = ranges[1][0]; y < ranges[1][1]; y += 1)
      for (let x = ranges[2][0]; x < ranges[2][1]; x += 1) found.push([z, y, x]);
  return found;
}

/** The grid of `region` of `level` ({shape, spacing, origin, direction} as payloads carry it). */
export function regionGrid(level, region) {
  const start = [region[2][0], region[1][0], region[0][0]]; // x, y, z
  return {
    shape: region.map(([a, b]) => b - a),
    spacing: [...level.spacing],
    origin: level.origin.map((o, a) => o + start[a] * level.spacing[a]),
    direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
  };
}

/**
 * The window (width, level) to open voxels with, as voxlite.windowing.default_window
 * does without DICOM metadata: CT soft tissue for signed data from air to bone, else the
 * 0.5th to 99.5th percentile (of a sample), else the full range. Also returns the range.
 */
export function defaultWindow(values, signed) {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (!Number.isFinite(low)) return { range: [0, 1], window: [1, 0.5] };
  if (signed && low <= -500 && high >= 500) return { range: [low, high], window: [400, 40] };
  const step = Math.max(1, Math.floor(values.length / 65536));
  const sample = [];
  for (let i = 0; i < values.length; i += step) sample.push(values[i]);
  sample.sort((a, b) => a - b);
  const at = (p) => {
    const x = (p / 100) * (sample.length - 1);
    const below = Math.floor(x);
    const above = Math.min(sample.length - 1, below + 1);
    return sample[below] + (sample[above] - sample[below]) * (x - below);
  };
  let [a, b] = [at(0.5), at(99.5)];
  if (!(b > a)) [a, b] = [low, high];
  return { range: [low, high], window: [Math.max(b - a, 1e-6), (a + b) / 2] };
}
