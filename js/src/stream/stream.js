// A multiscale OME-Zarr image streamed from a URL into the views (the `_stream` trait):
// the coarsest level first, then what the views need, finest where it shows:
// - the 3D view: the finest level within the texture budget (max_voxels);
// - each 2D view: the slice it shows, at the level that matches the screen's resolution
//   (plan.js), as a plane (the form of the full-resolution planes Python sends).
// Chunks are fetched and decoded in a Web Worker (client.js, worker.js), a few at a time,
// cached within `cache_mb`; a slice the view has moved on from is cancelled. The geometry
// read (shape, spacing, origin, units, levels, dtype, window) goes back to Python as the
// `_stream_info` trait, so that points, meshes, the readout and `slices` use it.
import { COLORMAPS } from '../colormaps.js';
import { typedView } from '../dtypes.js';
import { WorkerClient } from './client.js';
import { composePlane, toChunks } from './compose.js';
import { omeroChannel } from './ngff.js';
import { defaultWindow, finestWithin, indexAt, levelForPixel, regionGrid, sliceRegion } from './plan.js';

// Fetches under way at once (a browser opens 6 connections per HTTP/1.1 host).
const CONCURRENCY = 6;
// Views settle this long before their needs are worked out again (a wheel turns quickly).
const SETTLE_MS = 40;
const IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** The stream's URL as the page fetches it: `source.base` 'files' is the JupyterLite site's files/. */
export function resolveUrl(source, doc = globalThis.document) {
  let base = doc?.baseURI;
  if (source.base === 'files') {
    const config = doc?.getElementById('jupyter-config-data');
    const settings = config ? JSON.parse(config.textContent) : {};
    base = new URL(`${settings.baseUrl || './'}files/`, doc.baseURI).href;
  }
  return new URL(source.url, base).href.replace(/\/+$/, '');
}

export class Stream {
  constructor(viewer, source) {
    this.viewer = viewer;
    this.source = source;
    this.url = resolveUrl(source);
    this.client = new WorkerClient({
      onMissing: (message) => this.missing(message),
      onStats: (stats) => viewer.status.stream(stats),
    });
    this.levels = null;
    this.volume = null; // the level shown in 3D (and under the planes), as a payload
    this.volumeLevel = null;
    this.planes = new Map(); // axis -> plane entry {axis, index, image, key}
    this.jobs = new Map(); // purpose ('volume', or an axis) -> {job, key, done, total}
    this.timer = null;
    this.destroyed = false;
  }

  async open() {
    this.viewer.status.say(`Opening ${this.url}…`);
    try {
      const { image, levels } = await this.client.open({
        url: this.url,
        mmPerUnit: this.source.mm_per_unit || {},
        cacheBytes: (this.source.cache_mb || 512) * 2 ** 20,
        concurrency: CONCURRENCY,
      });
      this.image = image;
      this.levels = levels;
      const coarsest = levels.length - 1;
      const volume = await this.readVolume(coarsest);
      if (!volume) return;
      this.report(volume);
      this.show(volume, coarsest);
      this.viewer.stage.whenDrawn(() => this.schedule());
    } catch (error) {
      if (!error.cancelled) this.fail(error);
    }
  }

  /** The image's name; with several channels, which one is shown (the first). */
  shownName(label) {
    const name = this.image.name || this.url.split('/').pop();
    const axis = this.image.kinds.indexOf('channel');
    const count = axis < 0 ? 1 : this.levels[0].storedShape[axis];
    if (count < 2) return name;
    return `${name} (channel 1 of ${count}${label ? `: ${label}` : ''})`;
  }

  /** The geometry read, to Python: the view model checks it and takes it as the image's. */
  report(volume) {
    const sampled = defaultWindow(typedView(volume.dtype, volume.data), volume.dtype.startsWith('int'));
    const { range } = sampled;
    const channel = omeroChannel(this.image.omero, 0); // the first channel is the one shown
    const window = channel.window || sampled.window;
    this.range = range; // every volume and plane of the stream: the panel's and the editor's range
    volume.range = range;
    const full = this.levels[0];
    const model = this.viewer.model;
    // The image's window unless one was chosen: a preset's, or another than the traits'
    // defaults (Python, when there is one, takes the same from _stream_info).
    const chosen = 'window' in (COLORMAPS[model.get('cmap')] || {});
    const untouched = model.get('window') === 1 && model.get('level') === 0.5;
    const appearance = !chosen && untouched ? { window: window[0], level: window[1] } : {};
    this.viewer.commit({
      ...appearance,
      _stream_info: {
        url: this.url,
        serial: this.source.serial,
        name: this.shownName(channel.label),
        shape: full.shape,
        spacing: full.spacing,
        origin: full.origin,
        direction: IDENTITY,
        unit: this.image.unit,
        unit_in_file: this.image.unitInFile,
        dtype: full.dtype,
        range,
        default_window: window,
        levels: this.levels.map(({ path, shape, chunks, spacing, origin }) => ({
          path,
          shape,
          chunks,
          spacing,
          origin,
        })),
      },
    });
  }

  fail(error) {
    if (this.destroyed) return;
    this.viewer.status.error(error);
    this.viewer.commit({
      _stream_info: { url: this.url, serial: this.source.serial, error: String(error.message || error) },
    });
  }

  missing({ count, urls }) {
    const fill = this.levels?.[0]?.fillValue ?? 0;
    this.note = [count, `${count} chunk(s) missing (404), shown as the fill value ${fill}: ${urls.at(-1)}`];
    this.viewer.status.missing(...this.note);
  }

  /** The full-resolution grid every level and plane stands for. */
  fullGrid() {
    const { shape, spacing, origin } = this.levels[0];
    return { shape, spacing, origin, direction: IDENTITY };
  }

  /** Read a whole level as a volume payload, or null when cancelled. */
  async readVolume(level) {
    const region = this.levels[level].shape.map((n) => [0, n]);
    const result = await this.run('volume', `volume ${level}`, level, region);
    if (!result) return null;
    const grid = regionGrid(this.levels[level], region);
    return this.payload(grid, result, level === 0 ? 'full' : level === this.levels.length - 1 ? 'preview' : 'refined');
  }

  payload(grid, { data, dtype }, level) {
    const { range } = this;
    return { ...grid, dtype, data: new DataView(data), full: this.fullGrid(), level, name: this.image.name, range };
  }

  /** Run a read for `purpose` (cancelling its earlier one); its result, or null when cancelled. */
  async run(purpose, key, level, region) {
    const previous = this.jobs.get(purpose);
    if (previous) this.client.cancel(previous.job);
    const entry = { key, done: 0, total: 1 };
    const { job, promise } = this.client.read(level, region, (done, total) => {
      Object.assign(entry, { done, total });
      this.progress();
    });
    entry.job = job;
    this.jobs.set(purpose, entry);
    this.progress();
    try {
      return await promise;
    } catch (error) {
      if (error.cancelled) return null;
      throw error;
    } finally {
      if (this.jobs.get(purpose) === entry) this.jobs.delete(purpose);
      this.progress();
    }
  }

  progress() {
    const entries = [...this.jobs.values()];
    if (!entries.length) return this.viewer.status.loading(null);
    const done = entries.reduce((sum, e) => sum + e.done, 0);
    const total = entries.reduce((sum, e) => sum + e.total, 0);
    this.viewer.status.loading({ text: 'Streaming…', fraction: total ? done / total : 0 });
  }

  show(volume, level) {
    this.volume = volume;
    this.volumeLevel = level;
    this.viewer.streamChanged('image');
    if (this.note) this.viewer.status.missing(...this.note); // showing the image cleared it
  }

  /** The planes the 2D views show (payload form: {axis, index, image}). */
  get planeList() {
    return [...this.planes.values()];
  }

  /** Something in the views changed (a frame was drawn): work out their needs once they settle. */
  schedule() {
    if (this.destroyed || !this.levels || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.update();
    }, SETTLE_MS);
  }

  update() {
    if (this.destroyed) return;
    const viewer = this.viewer;
    if (viewer.main) this.refineVolume();
    const slices = viewer.model.get('slices') || [0, 0, 0];
    const wanted = new Set();
    for (const view of viewer.views) {
      const scene = view.scene;
      if (view === viewer.main || !scene.orientation || !scene.size) continue;
      const { axis } = scene.orientation;
      wanted.add(axis);
      this.wantPlane(axis, slices[axis], scene);
    }
    for (const [purpose, entry] of this.jobs) {
      if (purpose !== 'volume' && !wanted.has(purpose)) this.client.cancel(entry.job);
    }
  }

  refineVolume() {
    const side = Math.min(2048, this.viewer.stage.maxTextureSide || 2048);
    const target = finestWithin(this.levels, this.source.max_voxels || 256 ** 3, side);
    if (target >= this.volumeLevel || this.jobs.get('volume')?.key === `volume ${target}`) return;
    this.readVolume(target).then(
      (volume) => volume && this.show(volume, target),
      (error) => this.fail(error),
    );
  }

  /** What `scene` shows of `level`: [[x0, x1], [y0, y1], [z0, z1]] in its continuous indices. */
  visibleWindow(scene, level) {
    const [width, height] = scene.size;
    const corners = [
      scene.toWorld(0, 0),
      scene.toWorld(width, height),
      scene.toWorld(0, height),
      scene.toWorld(width, 0),
    ];
    if (corners.some((corner) => !corner)) return null;
    return [0, 1, 2].map((a) => {
      const at = corners.map((p) => (p[a] - level.origin[a]) / level.spacing[a]);
      return [Math.min(...at), Math.max(...at)];
    });
  }

  /**
   * The slice at full-resolution `index` along `axis` that `scene` shows, at the level for
   * its pixels; of that slice, the chunks in view (zoomed in: the coarse level around them).
   */
  wantPlane(axis, index, scene) {
    const level = levelForPixel(this.levels, axis, scene.pixelSize() / (globalThis.devicePixelRatio || 1));
    const label = `${axis}:${index}:${level}`;
    if (level >= this.volumeLevel) {
      // The volume is as fine as this view needs: no plane (a stale one would hide it).
      if (this.planes.delete(axis)) this.planesChanged();
      return;
    }
    const chosen = this.levels[level];
    const at = indexAt(this.levels[0], chosen, axis, index);
    const region = toChunks(
      sliceRegion(chosen, axis, at, this.visibleWindow(scene, chosen)),
      chosen.chunks,
      chosen.shape,
    );
    region[2 - axis] = [at, at + 1];
    const whole = region.every(([a, b], n) => n === 2 - axis || (a === 0 && b === chosen.shape[n]));
    const key = `${label}:${region.flat().join(',')}`;
    const shown = this.planes.get(axis);
    if (shown?.key === key || this.jobs.get(axis)?.key === key) return;
    if (shown && shown.label === label && shown.covers && covered(shown.covers, region)) return; // in view already
    this.run(axis, key, level, region).then(
      (result) => {
        if (!result) return;
        let read = { region, data: typedView(result.dtype, result.data) };
        if (!whole) {
          const coarse = { ...this.volume, values: typedView(this.volume.dtype, this.volume.data) };
          read = composePlane(chosen, axis, at, coarse, read);
        }
        const grid = regionGrid(chosen, read.region);
        const full = this.levels[0];
        grid.origin[axis] = full.origin[axis] + index * full.spacing[axis]; // drawn at the slice
        const image = this.payload(grid, { data: read.data.buffer, dtype: result.dtype }, 'plane');
        this.planes.set(axis, { axis, index, key, label, level, covers: region, image });
        this.planesChanged();
      },
      (error) => this.fail(error),
    );
  }

  planesChanged() {
    this.viewer.streamChanged('planes');
    this.viewer.status.streamPlanes(this.planeList.map((plane) => plane.label));
  }

  budget(cacheMb) {
    this.client.budget(cacheMb * 2 ** 20);
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.timer);
    this.client.destroy();
  }
}

/** Does region `outer` hold region `inner`? */
function covered(outer, inner) {
  return inner.every(([a, b], n) => a >= outer[n][0] && b <= outer[n][1]);
}
