// Reads regions of a level from its chunks: each chunk fetched once (a cache with a
// budget in bytes), at most `concurrency` fetches at a time, and a region no longer wanted
// cancelled (its fetches aborted, its queued ones dropped, unless another region waits for
// them). Pure: the chunk source is injected (zarrita in the worker, a fake under node).
import { TYPED_ARRAYS } from '../dtypes.js';
import { ChunkCache } from './cache.js';
import { chunksOf } from './plan.js';

/** The voxel types a view's textures take, by the stored type. */
export const WIRE_TYPES = {
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  float32: 'float32',
  float64: 'float32',
  int64: 'float32',
  uint64: 'float32',
};

export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortError';
  }
}

/**
 * `getChunk(level, coords, signal)` -> Promise<{data, shape, stride}> (coords in the stored
 * axes). `layout(level)` -> {spatial: stored axes of z, y, x, fixed: [stored axis -> index]
 * for the others, chunks: stored chunk shape, dtype}.
 */
export class ChunkLoader {
  constructor({ getChunk, layout, concurrency = 6, cacheBytes = 256 << 20 }) {
    this.getChunk = getChunk;
    this.layout = layout;
    this.concurrency = concurrency;
    this.cache = new ChunkCache(cacheBytes);
    this.pending = new Map(); // chunk key -> {waiters: Set, controller, promise, started}
    this.queue = []; // chunk keys not started, in order
    this.running = 0;
    this.stats = { requested: 0, cancelled: 0, cached: 0, fetchedBytes: 0 };
  }

  /** Read `region` ([[z0, z1], [y0, y1], [x0, x1]]) of `level` for job `job`; progress(done, total). */
  async read(job, level, region, progress = () => {}) {
    const layout = this.layout(level);
    const ArrayType = TYPED_ARRAYS[WIRE_TYPES[layout.dtype]];
    if (!ArrayType) throw new Error(`unsupported data type ${layout.dtype}`);
    const shape = region.map(([a, b]) => b - a);
    const out = new ArrayType(shape[0] * shape[1] * shape[2]);
    const chunkZyx = layout.spatial.map((a) => layout.chunks[a]);
    const wanted = chunksOf(region, chunkZyx);
    let done = 0;
    progress(done, wanted.length);
    await Promise.all(
      wanted.map(async (zyx) => {
        const chunk = await this.chunk(job, level, layout, zyx);
        copyInto(
          out,
          shape,
          region,
          chunk,
          layout,
          zyx.map((c, a) => c * chunkZyx[a]),
        );
        done += 1;
        progress(done, wanted.length);
      }),
    );
    if (out instanceof Float32Array) maskNonFinite(out);
    return { data: out, shape, dtype: WIRE_TYPES[layout.dtype] };
  }

  /** The decoded chunk at `zyx` of `level` (stored coordinates made from it), shared by jobs. */
  chunk(job, level, layout, zyx) {
    const coords = layout.fixed.map((index, axis) => {
      const spatial = layout.spatial.indexOf(axis);
      return spatial >= 0 ? zyx[spatial] : Math.floor(index / layout.chunks[axis]);
    });
    const key = `${level}/${coords.join('.')}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.cached += 1;
      return Promise.resolve(cached);
    }
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { key, waiters: new Set(), controller: new AbortController(), started: false };
      entry.promise = new Promise((resolve, reject) => {
        entry.start = () => {
          entry.started = true;
          this.running += 1;
          this.stats.requested += 1;
          this.getChunk(level, coords, entry.controller.signal)
            .then((chunk) => {
              this.cache.set(key, chunk, chunk.data.byteLength ?? chunk.data.length * 8);
              this.stats.fetchedBytes += chunk.data.byteLength ?? 0;
              resolve(chunk);
            }, reject)
            .finally(() => {
              this.running -= 1;
              if (this.pending.get(key) === entry) this.pending.delete(key);
              this.pump();
            });
        };
        entry.reject = reject;
      });
      entry.promise.catch(() => {}); // a cancelled chunk nobody waits for
      this.pending.set(key, entry);
      this.queue.push(key);
    }
    entry.waiters.add(job);
    this.pump();
    return entry.promise;
  }

  pump() {
    while (this.running < this.concurrency && this.queue.length) {
      const entry = this.pending.get(this.queue.shift());
      if (entry && !entry.started) entry.start();
    }
  }

  /** Job `job` no longer needs its chunks: those no other job waits for are aborted or dropped. */
  cancel(job) {
    for (const [key, entry] of [...this.pending]) {
      if (!entry.waiters.delete(job) || entry.waiters.size) continue;
      this.stats.cancelled += 1;
      this.pending.delete(key);
      if (entry.started) entry.controller.abort();
      else this.queue = this.queue.filter((k) => k !== key);
      entry.reject(new Cancelled());
    }
  }
}

/** NaN and ±inf become the lowest finite value (transparent, dark), as Python sends them. */
export function maskNonFinite(values) {
  let low = Number.POSITIVE_INFINITY;
  for (const v of values) if (Number.isFinite(v) && v < low) low = v;
  const fill = Number.isFinite(low) ? low : 0;
  for (let i = 0; i < values.length; i += 1) if (!Number.isFinite(values[i])) values[i] = fill;
}

/** Copy the part of `chunk` (stored axes, strided) that lies in `region` into `out` ([z, y, x], C order). */
export function copyInto(out, shape, region, chunk, layout, start) {
  const { data, stride } = chunk;
  const chunkShape = layout.spatial.map((a) => chunk.shape[a]);
  const fixedOffset = layout.fixed.reduce((sum, index, axis) => {
    if (layout.spatial.includes(axis)) return sum;
    return sum + (index - Math.floor(index / layout.chunks[axis]) * layout.chunks[axis]) * stride[axis];
  }, 0);
  const [sz, sy, sx] = layout.spatial.map((a) => stride[a]);
  const from = region.map(([a], n) => Math.max(a, start[n]));
  const to = region.map(([, b], n) => Math.min(b, start[n] + chunkShape[n]));
  const big = typeof data[0] === 'bigint';
  for (let z = from[0]; z < to[0]; z += 1) {
    for (let y = from[1]; y < to[1]; y += 1) {
      let source = fixedOffset + (z - start[0]) * sz + (y - start[1]) * sy + (from[2] - start[2]) * sx;
      let target = ((z - region[0][0]) * shape[1] + (y - region[1][0])) * shape[2] + (from[2] - region[2][0]);
      for (let x = from[2]; x < to[2]; x += 1) {
        out[target] = big ? Number(data[source]) : data[source];
        target += 1;
        source += sx;
      }
    }
  }
}
