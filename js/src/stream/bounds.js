// The chunks of a store are not trusted (as in voxlite.io.omezarr's BoundedStore): a
// compressed chunk that claims to decode to more bytes than a chunk of its array holds is
// refused before the WebAssembly codec allocates for it. Blosc and LZ4 (numcodecs) state
// the size first; a Zstandard frame in its header (RFC 8878), and one that does not is
// refused. Gzip and zlib state no size that binds (gzip's trailer is the size modulo
// 2^32): they are inflated as a stream and stopped once past a chunk's bytes. Tested
// under node.

const ITEM_BYTES = { int8: 1, uint8: 1, bool: 1, int16: 2, uint16: 2, float16: 2, int32: 4, uint32: 4, float32: 4 };
Object.assign(ITEM_BYTES, { int64: 8, uint64: 8, float64: 8 });

/** The bytes `codec` ('blosc', 'lz4', 'zstd') says `data` decodes to; Infinity when it cannot say. */
export function claimedSize(codec, data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (codec === 'blosc') return data.length >= 16 ? view.getUint32(4, true) : Number.POSITIVE_INFINITY;
  if (codec === 'lz4') return data.length >= 4 ? view.getInt32(0, true) : Number.POSITIVE_INFINITY;
  if (codec === 'zstd') return zstdContentSize(data, view);
  return Number.POSITIVE_INFINITY;
}

function zstdContentSize(data, view) {
  if (data.length < 6 || view.getUint32(0, true) !== 0xfd2fb528) return Number.POSITIVE_INFINITY;
  const descriptor = data[4];
  const singleSegment = (descriptor >> 5) & 1;
  const field = [singleSegment, 2, 4, 8][descriptor >> 6];
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3];
  if (!field || data.length < at + field) return Number.POSITIVE_INFINITY;
  if (field === 1) return data[at];
  if (field === 2) return view.getUint16(at, true) + 256;
  if (field === 4) return view.getUint32(at, true);
  return Number(view.getBigUint64(at, true));
}

/** The most bytes a chunk of `meta` ({dataType, shape}: zarrita's chunk metadata) holds. */
export function chunkBytes(meta) {
  return meta.shape.reduce((a, b) => a * b, 1) * (ITEM_BYTES[meta.dataType] || 8);
}

/** `Codec` (a numcodecs class) whose decode refuses a chunk that claims more than its array's chunk. */
export function boundedCodec(name, Codec) {
  return {
    fromConfig(config, meta) {
      const codec = Codec.fromConfig(config, meta);
      const limit = chunkBytes(meta);
      return {
        kind: codec.kind,
        encode: (data) => codec.encode(data),
        decode(data) {
          const size = claimedSize(name, data);
          if (!(size <= limit)) {
            const said = Number.isFinite(size) ? `${size} bytes` : 'an unknown size';
            throw new Error(
              `${name} says the chunk decodes to ${said}, more than the ${limit} of a chunk of its array`,
            );
          }
          return codec.decode(data);
        },
      };
    },
  };
}

const INFLATE_FORMATS = { gzip: 'gzip', zlib: 'deflate' };

/**
 * Inflate `data` (codec 'gzip' or 'zlib') with the platform's DecompressionStream, stopping
 * as soon as it yields more than `limit` bytes: a small chunk that inflates to gigabytes
 * costs at most `limit` plus one step of the stream.
 */
export async function boundedInflate(name, data, limit) {
  const inflated = new Blob([data]).stream().pipeThrough(new DecompressionStream(INFLATE_FORMATS[name]));
  const reader = inflated.getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    let step;
    try {
      step = await reader.read();
    } catch {
      throw new Error(`the chunk is not valid ${name} data`);
    }
    if (step.done) break;
    size += step.value.length;
    if (size > limit) {
      await reader.cancel();
      throw new Error(`${name} chunk decodes to more than the ${limit} bytes of a chunk of its array`);
    }
    parts.push(step.value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A zarrita codec class for 'gzip' or 'zlib' that inflates within a chunk's bytes. */
export function boundedInflateCodec(name) {
  return {
    fromConfig(_config, meta) {
      const limit = chunkBytes(meta);
      return {
        kind: 'bytes_to_bytes',
        encode() {
          throw new Error(`voxlite's stream does not write ${name}`);
        },
        decode: (data) => boundedInflate(name, data, limit),
      };
    },
  };
}
