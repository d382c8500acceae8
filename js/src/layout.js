// The layouts of the `views` trait: which views show, and where, as a CSS grid of cells over
// the one canvas (each view's renderer is placed over its cell, see Stage.layout).

/** The 2D views, in the order layouts place them. */
export const TWO_D_VIEWS = ['axial', 'coronal', 'sagittal'];
/** A row of 2D views takes the 3D view too from this width (CSS pixels) on. */
export const ROW_3D_WIDTH = 1200;

/**
 * The cells of a layout for a views area `width` pixels wide: {views: [name, ...],
 * columns, rows}; the views fill the grid row by row.
 */
export function arrange(views, width) {
  if (views === 'quad') return { views: [...TWO_D_VIEWS, '3d'], columns: 2, rows: 2 };
  if (views === 'row') {
    const names = width >= ROW_3D_WIDTH ? [...TWO_D_VIEWS, '3d'] : [...TWO_D_VIEWS];
    return { views: names, columns: names.length, rows: 1 };
  }
  const single = [...TWO_D_VIEWS, '3d'].includes(views) ? views : '3d';
  return { views: [single], columns: 1, rows: 1 };
}

/** Lay the cells out: a grid of `columns` x `rows` (the elements in `cells` order). */
export function applyGrid(container, { columns, rows }) {
  container.style.gridTemplateColumns = `repeat(${columns}, minmax(0, 1fr))`;
  container.style.gridTemplateRows = `repeat(${rows}, minmax(0, 1fr))`;
}
