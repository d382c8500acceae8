// The voxel types that reach the page (voxlite.transfer sends no other; a stream's worker
// converts to them) and their typed arrays. Pure: the stream's worker and node tests use it.

export const TYPED_ARRAYS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
};

/** `bytes` (an ArrayBuffer or a view of one) as a typed array of `dtype`, without a copy. */
export function typedView(dtype, bytes) {
  const ArrayType = TYPED_ARRAYS[dtype];
  const view = ArrayBuffer.isView(bytes);
  const buffer = view ? bytes.buffer : bytes;
  return new ArrayType(buffer, view ? bytes.byteOffset : 0, bytes.byteLength / ArrayType.BYTES_PER_ELEMENT);
}
