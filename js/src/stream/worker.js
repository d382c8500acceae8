// The stream's Web Worker: zarrita (with numcodecs' WebAssembly codecs, inlined in this
// bundle) fetches and decodes chunks here, off the page's main thread. It answers the
// messages of client.js:
//   {type: 'open', url, mmPerUnit, cacheBytes, concurrency} -> {type: 'opened', image, levels}
//   {type: 'read', job, level, region}  -> {type: 'progress', job, done, total}...,
//                                          then {type: 'read', job, data, shape, dtype}
//   {type: 'cancel', job}               (its pending fetches are aborted)
//   {type: 'budget', cacheBytes}
// and reports failures as {type: 'failed', job, message, cancelled}, chunks missing from
// the store (read as the fill value) as {type: 'missing', urls}, and fetch counts in `stats`.
import * as zarr from 'zarrita';
import { boundedCodec, boundedInflateCodec } from './bounds.js';
import { ChunkLoader } from './loader.js';
import { describeLevels, MetadataError, parseMultiscales } from './ngff.js';

const METADATA = /(zarr\.json|\.zattrs|\.zarray|\.zgroup|\.zmetadata)$/;
// numcodecs' WebAssembly codecs, bounded (bounds.js): a lying header allocates nothing.
for (const name of ['blosc', 'lz4', 'zstd']) {
  for (const key of [name, `numcodecs.${name}`]) {
    const load = zarr.registry.get(key);
    if (load) zarr.registry.set(key, () => Promise.resolve(load()).then((Codec) => boundedCodec(name, Codec)));
  }
}
for (const name of ['gzip', 'zlib']) {
  for (const key of [name, `numcodecs.${name}`]) zarr.registry.set(key, () => boundedInflateCodec(name));
}

let loader = null;
let arrays = [];
let base = '';
const keys = new WeakMap(); // AbortSignal -> the last key read with it (errors name its URL)
const missing = [];
const fetched = { requests: 0, bytes: 0 };

/** A fetch error the user can act on: the URL, and what to do. */
class FetchError extends Error {}

async function tracked(request) {
  fetched.requests += 1;
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new FetchError(
      `${request.url} could not be fetched: the server did not answer, or the browser refused its answer. ` +
        `A server on another origin than this page (${self.location.origin}) must allow it with the header ` +
        `"Access-Control-Allow-Origin: ${self.location.origin}" (or "*"): CORS`,
    );
  }
  fetched.bytes += Number(response.headers.get('Content-Length')) || 0;
  if (response.status === 404 && !METADATA.test(new URL(request.url).pathname)) {
    missing.push(request.url);
    post({ type: 'missing', urls: missing.slice(-20), count: missing.length });
  } else if (!response.ok && response.status !== 404) {
    throw new FetchError(`${request.url}: the server answered ${response.status} ${response.statusText}`.trim());
  }
  return response;
}

function post(message, transfer = []) {
  self.postMessage({ ...message, stats: { ...(loader?.stats || {}), ...fetched, missing: missing.length } }, transfer);
}

function describe(error, signal) {
  if (error instanceof FetchError || error instanceof MetadataError) return error.message;
  const where = signal && keys.has(signal) ? `${base}/${keys.get(signal).replace(/^\//, '')}` : base;
  const cause = error?.cause?.message || error?.message || String(error);
  if (error instanceof zarr.UnknownCodecError || /unknown codec/i.test(cause)) {
    return `${where}: unsupported codec (${cause}); voxlite streams blosc, zstd, lz4, gzip, zlib, with v3 sharding`;
  }
  if (error instanceof zarr.CodecPipelineError || error?.name === 'CodecPipelineError') {
    return `${where}: the chunk cannot be decoded, it is corrupt (${error.codec ? `${error.codec}: ` : ''}${cause})`;
  }
  return `${where}: ${cause}`;
}

async function open({ url, mmPerUnit, cacheBytes, concurrency }) {
  base = url;
  const fetchStore = new zarr.FetchStore(url, { fetch: tracked });
  // zarrita hands the store the chunk's own AbortSignal: it names the key being read.
  const store = {
    get: (key, options) => {
      if (options?.signal) keys.set(options.signal, key);
      return fetchStore.get(key, options);
    },
    getRange: (key, range, options) => {
      if (options?.signal) keys.set(options.signal, key);
      return fetchStore.getRange(key, range, options);
    },
  };
  let group;
  try {
    group = await zarr.open(store, { kind: 'group' });
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new FetchError(`no Zarr group at ${url} (.zgroup/.zattrs or zarr.json: 404 Not Found, or not a group)`);
  }
  const image = parseMultiscales(group.attrs, mmPerUnit);
  arrays = await Promise.all(
    image.datasets.map(async ({ path }) => {
      try {
        return await zarr.open(group.resolve(path), { kind: 'array' });
      } catch (error) {
        if (error instanceof FetchError) throw error;
        throw new FetchError(`${url}/${path}: no Zarr array there (${error.message})`);
      }
    }),
  );
  const levels = describeLevels(
    image,
    arrays.map((a) => ({ shape: a.shape, chunks: a.chunks, dtype: a.dtype, fillValue: a.fillValue })),
  );
  const layouts = levels.map((level) => ({
    spatial: image.spatial,
    fixed: level.storedShape.map(() => 0), // the first time point and channel
    chunks: level.storedChunks,
    dtype: level.dtype,
  }));
  loader = new ChunkLoader({
    concurrency,
    cacheBytes,
    layout: (n) => layouts[n],
    getChunk: async (n, coords, signal) => {
      let chunk;
      try {
        chunk = await arrays[n].getChunk(coords, { signal });
      } catch (error) {
        if (error.name === 'AbortError' || signal.aborted) throw error;
        throw new FetchError(describe(error, signal));
      }
      const expected = arrays[n].chunks.reduce((a, b) => a * b, 1);
      if (chunk.data.length !== expected) {
        // A codec that "decodes" garbage to another size: the chunk is corrupt.
        const where = describe(new Error(''), signal).replace(/: $/, '');
        throw new FetchError(`${where}: the chunk is corrupt (${chunk.data.length} values, not ${expected})`);
      }
      return chunk;
    },
  });
  return { image, levels };
}

async function read({ job, level, region }) {
  const result = await loader.read(job, level, region, (done, total) => post({ type: 'progress', job, done, total }));
  post({ type: 'read', job, ...result, data: result.data.buffer }, [result.data.buffer]);
}

self.onmessage = async ({ data: message }) => {
  const { type, job } = message;
  try {
    if (type === 'open') post({ type: 'opened', ...(await open(message)) });
    else if (type === 'read') await read(message);
    else if (type === 'cancel') loader?.cancel(job);
    else if (type === 'budget') loader?.cache.resize(message.cacheBytes);
  } catch (error) {
    const cancelled = error?.name === 'AbortError';
    post({ type: 'failed', job, cancelled, message: cancelled ? 'cancelled' : describe(error) });
  }
};
