// The stream's pure parts under node's test runner: `npm test` (scripts/test runs it).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ChunkCache } from '../src/stream/cache.js';
import { ChunkLoader, copyInto } from '../src/stream/loader.js';
import { describeLevels, MetadataError, parseMultiscales } from '../src/stream/ngff.js';
import { chunksOf, defaultWindow, finestWithin, indexAt, levelForPixel, sliceRegion } from '../src/stream/plan.js';

const MM = { micrometer: 1e-3, millimeter: 1 };

function attributes(version = '0.4') {
  const multiscales = [
    {
      axes: [
        { name: 'c', type: 'channel' },
        { name: 'z', type: 'space', unit: 'micrometer' },
        { name: 'y', type: 'space', unit: 'micrometer' },
        { name: 'x', type: 'space', unit: 'micrometer' },
      ],
      datasets: [0, 1].map((n) => ({
        path: `s${n}`,
        coordinateTransformations: [
          { type: 'scale', scale: [1, 2 * 2 ** n, 0.5 * 2 ** n, 0.25 * 2 ** n] },
          { type: 'translation', translation: [0, 10, 20, 30] },
        ],
      })),
      name: 'cells',
    },
  ];
  return version === '0.5' ? { ome: { version, multiscales } } : { multiscales };
}

test('NGFF 0.4 and 0.5: levels in mm, x y z order, the channel axis kept at its first index', () => {
  for (const version of ['0.4', '0.5']) {
    const image = parseMultiscales(attributes(version), MM);
    assert.equal(image.unit, 'mm');
    assert.equal(image.unitInFile, 'micrometer');
    assert.deepEqual(image.spatial, [1, 2, 3]);
    assert.deepEqual(image.datasets[1].spacing, [0.0005, 0.001, 0.004]);
    assert.deepEqual(image.datasets[0].origin, [0.03, 0.02, 0.01]);
    const levels = describeLevels(image, [
      { shape: [2, 40, 60, 80], chunks: [1, 16, 16, 16], dtype: 'uint16', fillValue: 0 },
      { shape: [2, 20, 30, 40], chunks: [1, 16, 16, 16], dtype: 'uint16', fillValue: 0 },
    ]);
    assert.deepEqual(levels[0].shape, [40, 60, 80]);
    assert.deepEqual(levels[1].chunks, [16, 16, 16]);
  }
});

test('an unknown unit stays as it is; bad metadata is refused with its reason', () => {
  const attrs = attributes();
  attrs.multiscales[0].axes.forEach((a) => {
    if (a.unit) a.unit = 'parsec';
  });
  assert.equal(parseMultiscales(attrs, MM).unit, null);
  assert.throws(() => parseMultiscales({}, MM), /no 'multiscales'/);
  const escaping = attributes();
  escaping.multiscales[0].datasets[0].path = '../../etc';
  assert.throws(() => parseMultiscales(escaping, MM), MetadataError);
  const bad = attributes();
  bad.multiscales[0].datasets[0].coordinateTransformations[0].scale = [1, 2];
  assert.throws(() => parseMultiscales(bad, MM), /scale .* is not 4 numbers/);
  const swapped = attributes();
  swapped.multiscales[0].axes.reverse();
  assert.throws(() => parseMultiscales(swapped, MM), /z, y, x order/);
});

const LEVELS = [0, 1, 2].map((n) => ({
  shape: [64 >> n, 128 >> n, 256 >> n],
  chunks: [16, 16, 16],
  spacing: [2 ** n, 2 ** n, 2 ** n],
  origin: [(2 ** n - 1) / 2, (2 ** n - 1) / 2, (2 ** n - 1) / 2],
}));

test('levels: the finest within the texture budget, the one for the screen, the slice at a position', () => {
  assert.equal(finestWithin(LEVELS, 64 * 128 * 256, 2048), 0);
  assert.equal(finestWithin(LEVELS, 64 * 128 * 256 - 1, 2048), 1);
  assert.equal(finestWithin(LEVELS, 1, 2048), 2, 'none fits: the coarsest');
  assert.equal(finestWithin(LEVELS, 1 << 30, 128), 1, 'a side over the limit');
  assert.equal(levelForPixel(LEVELS, 2, 0.5), 0, 'zoomed in: the finest');
  assert.equal(levelForPixel(LEVELS, 2, 2.5), 1);
  assert.equal(levelForPixel(LEVELS, 2, 10), 2);
  assert.equal(indexAt(LEVELS[0], LEVELS[1], 2, 33), 16);
  assert.equal(indexAt(LEVELS[0], LEVELS[2], 2, 63), 15);
  assert.equal(indexAt(LEVELS[0], LEVELS[2], 2, 1000), 15, 'clipped');
});

test('a slice needs the chunks of its plane, not of the level', () => {
  const region = sliceRegion(LEVELS[0], 2, 20); // an axial slice (k = 20)
  assert.deepEqual(region, [
    [20, 21],
    [0, 128],
    [0, 256],
  ]);
  assert.equal(chunksOf(region, [16, 16, 16]).length, (128 / 16) * (256 / 16));
  const window = sliceRegion(LEVELS[0], 2, 20, [
    [10.2, 40.7],
    [0, 15],
    [0, 0],
  ]);
  assert.deepEqual(window[2], [10, 42], 'every voxel the window touches');
  assert.equal(chunksOf(window, [16, 16, 16]).length, 3, 'x 10..42 spans chunks 0, 1, 2');
});

test('the cache keeps the most recently used chunks within its budget', () => {
  const cache = new ChunkCache(100);
  cache.set('a', 1, 40);
  cache.set('b', 2, 40);
  cache.get('a');
  cache.set('c', 3, 40); // over: b, the least recently used, goes
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 1);
  assert.equal(cache.bytes, 80);
  cache.set('huge', 4, 1000);
  assert.equal(cache.get('huge'), undefined, 'larger than the budget: not kept');
  cache.resize(40);
  assert.equal(cache.entries.size, 1);
});

/** A fake chunk source: chunks of 4 x 4 x 4 uint16 whose values are their z*100 + y*10 + x. */
function fakeSource({ hold = false } = {}) {
  const started = [];
  const layout = () => ({ spatial: [0, 1, 2], fixed: [0, 0, 0], chunks: [4, 4, 4], dtype: 'uint16' });
  const getChunk = (level, coords, signal) =>
    new Promise((resolve, reject) => {
      const chunk = () => {
        const data = new Uint16Array(64);
        for (let i = 0; i < 64; i += 1) {
          const [z, y, x] = [Math.floor(i / 16), Math.floor(i / 4) % 4, i % 4];
          data[i] = (coords[0] * 4 + z) * 100 + (coords[1] * 4 + y) * 10 + coords[2] * 4 + x;
        }
        return { data, shape: [4, 4, 4], stride: [16, 4, 1] };
      };
      const entry = { coords, resolve: () => resolve(chunk()), aborted: false };
      signal.addEventListener('abort', () => {
        entry.aborted = true;
        reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      });
      started.push(entry);
      if (!hold) entry.resolve();
    });
  return { started, layout, getChunk };
}

test('a region is assembled from its chunks, each fetched once and cached', async () => {
  const source = fakeSource();
  const loader = new ChunkLoader({ ...source, concurrency: 2 });
  const region = [
    [5, 6],
    [2, 7],
    [3, 9],
  ];
  const { data, shape } = await loader.read(1, 0, region);
  assert.deepEqual(shape, [1, 5, 6]);
  assert.equal(data[0], 5 * 100 + 2 * 10 + 3);
  assert.equal(data[data.length - 1], 5 * 100 + 6 * 10 + 8);
  assert.equal(source.started.length, 6, '1 x 2 x 3 chunks');
  await loader.read(2, 0, region);
  assert.equal(source.started.length, 6, 'the second read comes from the cache');
  assert.equal(loader.stats.cached, 6);
});

test('at most `concurrency` fetches run; a cancelled read aborts its fetches and drops its queue', async () => {
  const source = fakeSource({ hold: true });
  const loader = new ChunkLoader({ ...source, concurrency: 3 });
  const read = loader.read(1, 0, [
    [0, 1],
    [0, 16],
    [0, 16],
  ]); // 16 chunks
  read.catch(() => {});
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(source.started.length, 3);
  loader.cancel(1);
  await assert.rejects(read, { name: 'AbortError' });
  assert.ok(source.started.every((entry) => entry.aborted));
  assert.equal(loader.stats.cancelled, 16);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(source.started.length, 3, 'the queued 13 were never fetched');
});

test('a chunk two reads share survives the cancelling of one of them', async () => {
  const source = fakeSource({ hold: true });
  const loader = new ChunkLoader({ ...source, concurrency: 4 });
  const one = [
    [0, 1],
    [0, 4],
    [0, 4],
  ];
  const first = loader.read(1, 0, one);
  first.catch(() => {});
  const second = loader.read(2, 0, one);
  await new Promise((r) => setTimeout(r, 0));
  loader.cancel(1);
  source.started[0].resolve();
  const { data } = await second;
  assert.equal(data[5], 11); // y 1, x 1
  assert.equal(source.started.length, 1);
});

test('copyInto reads strided (Fortran-order) chunks and other axes at their kept index', () => {
  const layout = { spatial: [1, 2, 3], fixed: [1, 0, 0, 0], chunks: [2, 2, 2, 2], dtype: 'uint8' };
  // [c, z, y, x] chunk of 2 x 2 x 2 x 2 in Fortran order: c fastest.
  const data = new Uint8Array(16);
  const stride = [1, 2, 4, 8];
  for (let c = 0; c < 2; c += 1)
    for (let z = 0; z < 2; z += 1)
      for (let y = 0; y < 2; y += 1) for (let x = 0; x < 2; x += 1) data[c + 2 * z + 4 * y + 8 * x] = c * 100 + z * 4 + y * 2 + x;
  const out = new Uint8Array(8);
  const region = [
    [0, 2],
    [0, 2],
    [0, 2],
  ];
  copyInto(out, [2, 2, 2], region, { data, shape: [2, 2, 2, 2], stride }, layout, [0, 0, 0]);
  assert.deepEqual([...out], [100, 101, 102, 103, 104, 105, 106, 107]);
});

test('the opening window: CT soft tissue, else robust percentiles', () => {
  const ct = Int16Array.from({ length: 1000 }, (_, i) => (i < 500 ? -1000 : 1000));
  assert.deepEqual(defaultWindow(ct, true).window, [400, 40]);
  const ramp = Float32Array.from({ length: 1000 }, (_, i) => i);
  const { range, window } = defaultWindow(ramp, false);
  assert.deepEqual(range, [0, 999]);
  assert.ok(Math.abs(window[0] - 989.01) < 1e-6 && Math.abs(window[1] - 499.5) < 1e-6);
});

test('a zoomed plane: the region in view at its level, the coarse level around it', async () => {
  const { composePlane, toChunks } = await import('../src/stream/compose.js');
  const level = { shape: [1, 4, 4], spacing: [1, 1, 1], origin: [0, 0, 0] };
  const coarse = { shape: [1, 2, 2], spacing: [2, 2, 1], origin: [0.5, 0.5, 0], values: Uint16Array.from([1, 2, 3, 4]) };
  const part = {
    region: [
      [0, 1],
      [1, 3],
      [2, 4],
    ],
    data: Uint16Array.from([9, 9, 9, 9]),
  };
  const { region, data } = composePlane(level, 2, 0, coarse, part);
  assert.deepEqual(region, [
    [0, 1],
    [0, 4],
    [0, 4],
  ]);
  assert.deepEqual([...data], [1, 1, 2, 2, 1, 1, 9, 9, 3, 3, 9, 9, 3, 3, 4, 4]);
  assert.deepEqual(
    toChunks(
      [
        [5, 6],
        [17, 40],
        [0, 3],
      ],
      [16, 16, 16],
      [20, 40, 100],
    ),
    [
      [0, 16],
      [16, 40],
      [0, 16],
    ],
  );
});

test('non-finite values become the lowest finite one', async () => {
  const { maskNonFinite } = await import('../src/stream/loader.js');
  const values = Float32Array.from([3, Number.NaN, -2, Number.POSITIVE_INFINITY]);
  maskNonFinite(values);
  assert.deepEqual([...values], [3, -2, -2, -2]);
});

test('a chunk that claims more bytes than a chunk of its array is refused before decoding', async () => {
  const { boundedCodec, claimedSize } = await import('../src/stream/bounds.js');
  const blosc = new Uint8Array(16);
  new DataView(blosc.buffer).setUint32(4, 1 << 30, true);
  assert.equal(claimedSize('blosc', blosc), 1 << 30);
  // A Zstandard frame with a 4-byte content size (FCS flag 2, single segment).
  const zstd = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x10, 0x00, 0x00]);
  assert.equal(claimedSize('zstd', zstd), 4096);
  assert.equal(claimedSize('zstd', Uint8Array.from([1, 2, 3, 4, 5, 6])), Number.POSITIVE_INFINITY);
  let decoded = 0;
  const Codec = { fromConfig: () => ({ decode: () => (decoded += 1) }) };
  const codec = boundedCodec('blosc', Codec).fromConfig({}, { dataType: 'uint16', shape: [16, 16, 16] });
  assert.throws(() => codec.decode(blosc), /1073741824 bytes, more than the 8192/);
  new DataView(blosc.buffer).setUint32(4, 8192, true);
  codec.decode(blosc);
  assert.equal(decoded, 1);
});

test('a gzip or zlib chunk inflates within a chunk of its array, and a bomb stops there', async () => {
  const { boundedInflateCodec } = await import('../src/stream/bounds.js');
  const { gzipSync, deflateSync } = await import('node:zlib');
  const meta = { dataType: 'uint16', shape: [16, 16, 16] }; // 8192 bytes
  const fits = Uint8Array.from({ length: 8192 }, (_, n) => n % 251);
  const bomb = new Uint8Array(64 << 20); // 64 MiB of zeros: about 64 kB deflated
  for (const [name, pack] of [['gzip', gzipSync], ['zlib', deflateSync]]) {
    const codec = boundedInflateCodec(name).fromConfig({}, meta);
    assert.deepEqual(await codec.decode(new Uint8Array(pack(fits))), fits);
    await assert.rejects(codec.decode(new Uint8Array(pack(bomb))), /decodes to more than the 8192 bytes/);
    await assert.rejects(codec.decode(Uint8Array.from([1, 2, 3, 4])), new RegExp(`not valid ${name}`));
  }
});

test("omero's window and label of a channel, and nothing from what it does not say", async () => {
  const { omeroChannel } = await import('../src/stream/ngff.js');
  const omero = { channels: [{ label: 'DAPI', window: { start: 500, end: 1500, min: 0, max: 4095 } }, {}] };
  assert.deepEqual(omeroChannel(omero, 0), { window: [1000, 1000], label: 'DAPI' });
  assert.deepEqual(omeroChannel(omero, 1), { window: null, label: null });
  assert.deepEqual(omeroChannel(null), { window: null, label: null });
  const backwards = { channels: [{ label: 7, window: { start: 9, end: 3 } }] };
  assert.deepEqual(omeroChannel(backwards), { window: null, label: null });
});
