// A plane of a level made of two parts (pure: tested under node): the region in view,
// read at that level, and around it the coarser level the page already holds, sampled
// at the nearest voxel, so that a zoomed-in 2D view fetches only what it shows and still
// has a whole slice to pan over.

const ZYX = [2, 1, 0];

/**
 * The whole slice at `index` along `axis` of `level` ({shape [z,y,x], spacing, origin}),
 * from `coarse` ({shape, spacing, origin, values}) and `part` ({region, data}: a region of
 * that slice, read at `level`). Returns {region, data} (data of part.data's type).
 */
export function composePlane(level, axis, index, coarse, part) {
  const region = [2, 1, 0].map((a) => (a === axis ? [index, index + 1] : [0, level.shape[ZYX[a]]]));
  const shape = region.map(([a, b]) => b - a);
  const data = new part.data.constructor(shape[0] * shape[1] * shape[2]);
  // For each of z, y, x: the coarse index of every index of the plane (nearest voxel).
  const maps = [0, 1, 2].map((n) => {
    const a = ZYX[n];
    return Int32Array.from({ length: shape[n] }, (_, i) => {
      const position = level.origin[a] + (region[n][0] + i) * level.spacing[a];
      const at = Math.round((position - coarse.origin[a]) / coarse.spacing[a]);
      return Math.min(coarse.shape[n] - 1, Math.max(0, at));
    });
  });
  const [, cy, cx] = coarse.shape;
  let target = 0;
  for (let z = 0; z < shape[0]; z += 1)
    for (let y = 0; y < shape[1]; y += 1) {
      const row = (maps[0][z] * cy + maps[1][y]) * cx;
      for (let x = 0; x < shape[2]; x += 1) data[target++] = coarse.values[row + maps[2][x]];
    }
  const [pz, py, px] = part.region.map(([a, b]) => b - a);
  for (let z = 0; z < pz; z += 1)
    for (let y = 0; y < py; y += 1) {
      const from = (z * py + y) * px;
      const to = ((part.region[0][0] - region[0][0] + z) * shape[1] + part.region[1][0] + y) * shape[2];
      data.set(part.data.subarray(from, from + px), to + part.region[2][0]);
    }
  return { region, data };
}

/** `region` grown to whole chunks (the chunks are read whole anyway), within `shape`. */
export function toChunks(region, chunks, shape) {
  return region.map(([start, stop], n) => [
    Math.floor(start / chunks[n]) * chunks[n],
    Math.min(shape[n], Math.ceil(stop / chunks[n]) * chunks[n]),
  ]);
}
