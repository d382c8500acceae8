// Received volumes as vtk.js image data, made once per payload and shared by every view
// (the 3D view and the 2D views wrap the same typed array: no copy per view).
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';

import { TYPED_ARRAYS } from './dtypes.js';

// payload.data (a DataView) -> vtkImageData; the payload may be replaced, its buffer stays.
const wrapped = new WeakMap();

/** The voxels of a received volume ({shape, dtype, data}) as a typed array, checked against its shape. */
export function voxelsOf(volume) {
  const ArrayType = TYPED_ARRAYS[volume.dtype];
  if (!ArrayType) throw new Error(`unsupported voxel type ${volume.dtype}`);
  const bytes = volume.data; // DataView (binary buffer from the kernel)
  if (!(bytes instanceof DataView) || bytes.byteLength % ArrayType.BYTES_PER_ELEMENT) {
    throw new Error('a volume without voxels');
  }
  const values = new ArrayType(bytes.buffer, bytes.byteOffset, bytes.byteLength / ArrayType.BYTES_PER_ELEMENT);
  const [nz, ny, nx] = volume.shape;
  const components = componentsOf(volume);
  if (values.length !== nx * ny * nz * components) {
    throw new Error(`volume has ${values.length} values, expected ${nx}x${ny}x${nz}x${components}`);
  }
  return values;
}

/** Values per voxel: 1, or a colour's or the channels' count (interleaved, see transfer.py). */
export function componentsOf(volume) {
  return volume.pixel && volume.pixel !== 'scalar' ? volume.components : 1;
}

/** A grid without voxels ({shape, spacing, origin, direction}): maps indices to positions. */
export function toGrid({ shape, spacing, origin, direction }) {
  const grid = vtkImageData.newInstance();
  grid.setDimensions(shape[2], shape[1], shape[0]); // [z, y, x] C order == VTK's x-fastest order
  grid.setSpacing(spacing);
  grid.setOrigin(origin);
  grid.setDirection(direction); // column-major, as sent by Python
  return grid;
}

/** `values` on the grid of `volume` (`numberOfComponents` per voxel, interleaved), as vtkImageData. */
export function imageDataOf(volume, values, numberOfComponents = 1) {
  const imageData = toGrid(volume);
  imageData.getPointData().setScalars(vtkDataArray.newInstance({ name: 'scalars', numberOfComponents, values }));
  return imageData;
}

/** Wrap a received volume ({shape, dtype, spacing, origin, direction, data}) as vtkImageData, once. */
export function toImageData(volume) {
  const known = wrapped.get(volume.data);
  if (known) return known;
  const imageData = imageDataOf(volume, voxelsOf(volume), componentsOf(volume));
  if (volume.data instanceof DataView) wrapped.set(volume.data, imageData);
  return imageData;
}

/** The value (a colour's or the channels' values: an array) of the voxel nearest to index `ijk`, or null outside the grid. */
export function valueAt(imageData, ijk) {
  const dims = imageData.getDimensions();
  const [i, j, k] = ijk.map((v) => Math.round(v));
  if ([i, j, k].some((v, axis) => v < 0 || v >= dims[axis])) return null;
  const scalars = imageData.getPointData().getScalars();
  const components = scalars.getNumberOfComponents();
  const at = (i + dims[0] * (j + dims[1] * k)) * components;
  const values = scalars.getData();
  return components === 1 ? values[at] : Array.from(values.subarray(at, at + components));
}

/** The voxel of `grid` a physical point is in: continuous index, and the nearest voxel clipped to the grid. */
export function voxelOf(grid, point) {
  const index = grid.worldToIndex(point, [0, 0, 0]);
  const dims = grid.getDimensions();
  const voxel = index.map((v, axis) => Math.min(dims[axis] - 1, Math.max(0, roundHalfEven(v))));
  return { index, voxel };
}

/** Python's round(): halves go to the even neighbour, so the page and the kernel agree on a voxel. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}
