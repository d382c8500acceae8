// Point sets and meshes: polyData -> mapper -> actor, one pipeline per layer.
// The Molecule profile registers the OpenGL sphere mapper (points drawn as shaded spheres).
import '@kitware/vtk.js/Rendering/Profiles/Molecule';
import vtkCellArray from '@kitware/vtk.js/Common/Core/CellArray';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkPolyDataNormals from '@kitware/vtk.js/Filters/Core/PolyDataNormals';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import { ColorMode } from '@kitware/vtk.js/Rendering/Core/Mapper/Constants';
import vtkSphereMapper from '@kitware/vtk.js/Rendering/Core/SphereMapper';

import { colorFunction } from './colormaps.js';
import { hexToRgb } from './helpers.js';

const WHITE = [1, 1, 1];
const view = (bytes, ArrayType) =>
  new ArrayType(bytes.buffer, bytes.byteOffset, bytes.byteLength / ArrayType.BYTES_PER_ELEMENT);

/** Cells of one kind (verts or triangles) in vtk's [n, i0, ..., n, ...] layout. */
function cells(indices, perCell) {
  const count = indices.length / perCell;
  const values = new Uint32Array(count * (perCell + 1));
  for (let c = 0; c < count; c += 1) {
    values[c * (perCell + 1)] = perCell;
    for (let k = 0; k < perCell; k += 1) values[c * (perCell + 1) + 1 + k] = indices[c * perCell + k];
  }
  return vtkCellArray.newInstance({ values });
}

/**
 * Check a payload against its own buffers (a saved page can be edited): sizes come
 * from the bytes present, never from a count the payload claims.
 */
function checked(layer) {
  const fail = (why) => {
    throw new Error(`layer ${JSON.stringify(String(layer.name)).slice(0, 80)}: ${why}`);
  };
  if (!(layer.points instanceof DataView) || layer.points.byteLength % 12) fail('bad points');
  const count = layer.points.byteLength / 12;
  const perPoint = { scalars: 4, sizes: 4, colors: 3 };
  for (const [key, bytes] of Object.entries(perPoint)) {
    if (layer[key] && (!(layer[key] instanceof DataView) || layer[key].byteLength !== count * bytes)) {
      fail(`${key} do not match the ${count} points`);
    }
  }
  if (layer.kind === 'mesh') {
    if (!(layer.faces instanceof DataView) || layer.faces.byteLength % 12) fail('bad faces');
    if (view(layer.faces, Uint32Array).some((index) => index >= count)) fail('faces index past the vertices');
  } else if (layer.kind !== 'points') {
    fail('unknown kind');
  }
  return { ...layer, count };
}

function pointsPolyData(layer) {
  const polyData = vtkPolyData.newInstance();
  const coordinates = view(layer.points, Float32Array);
  polyData.getPoints().setData(coordinates, 3);
  const every = Uint32Array.from({ length: layer.count }, (_, i) => i);
  polyData.setVerts(cells(every, 1));
  return polyData;
}

function meshPolyData(layer) {
  const polyData = vtkPolyData.newInstance();
  polyData.getPoints().setData(view(layer.points, Float32Array), 3);
  polyData.setPolys(cells(view(layer.faces, Uint32Array), 3));
  const normals = vtkPolyDataNormals.newInstance({ computeCellNormals: false });
  normals.setInputData(polyData);
  return normals.getOutputData();
}

/** One layer's vtk objects, built from its synced payload. */
export class GeometryLayer {
  constructor(payload) {
    const layer = checked(payload);
    this.kind = layer.kind;
    this.layer = layer;
    this.polyData = layer.kind === 'points' ? pointsPolyData(layer) : meshPolyData(layer);
    this.mapper = layer.kind === 'points' ? vtkSphereMapper.newInstance() : vtkMapper.newInstance();
    this.mapper.setInputData(this.polyData);
    this.mapper.setScalarVisibility(false);
    this.actor = vtkActor.newInstance();
    this.actor.setMapper(this.mapper);
    if (layer.kind === 'points') this.setPointColors(layer);
  }

  setPointColors(layer) {
    const pointData = this.polyData.getPointData();
    if (layer.colors) {
      const rgb = view(layer.colors, Uint8Array);
      const rgba = new Uint8Array(layer.count * 4).fill(255);
      for (let i = 0; i < layer.count; i += 1) rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      pointData.setScalars(vtkDataArray.newInstance({ name: 'colors', numberOfComponents: 4, values: rgba }));
      this.mapper.setColorMode(ColorMode.DIRECT_SCALARS);
      this.mapper.setScalarVisibility(true);
    } else if (layer.scalars) {
      const values = view(layer.scalars, Float32Array);
      pointData.setScalars(vtkDataArray.newInstance({ name: 'scalars', numberOfComponents: 1, values }));
      this.mapper.setColorMode(ColorMode.MAP_SCALARS);
      this.mapper.setScalarVisibility(true);
    }
  }

  /** Apply {visible, color, opacity, size, cmap} settings. */
  apply(settings) {
    const property = this.actor.getProperty();
    this.actor.setVisibility(settings.visible !== false);
    property.setColor(...hexToRgb(settings.color, WHITE));
    property.setOpacity(settings.opacity ?? 1);
    if (this.kind === 'points') {
      const radius = (settings.size || 1) / 2;
      this.mapper.setRadius(radius);
      if (this.layer.sizes) {
        const radii = Float32Array.from(view(this.layer.sizes, Float32Array), (d) => d / 2);
        this.polyData.getPointData().addArray(vtkDataArray.newInstance({ name: 'radii', values: radii }));
        this.mapper.setScaleArray('radii');
      }
      if (this.layer.scalars && !this.layer.colors) {
        const [low, high] = (this.layer.range || [0, 1]).map(Number);
        this.mapper.setLookupTable(colorFunction(settings.cmap || 'viridis', low, high));
        this.mapper.setScalarRange(low, high);
      }
    }
  }
}
