// The 3D view: a cell of the layout, and the vtk.js scene drawn over it, with its camera
// (rotated, zoomed and panned by vtk.js' trackball, which the Viewer binds to this cell).
import { CropHandles } from './crop.js';
import { element } from './helpers.js';
import { Scene } from './scene.js';

const CAMERA_SYNC_DELAY_MS = 200;

export class View3D {
  /**
   * `hooks.cameraMoved(camera)`: the user moved the camera, reported once the motion has
   * settled; `hooks.reset()`: a double click asks for the camera to be reset.
   */
  constructor(stage, { background, hooks }) {
    this.name = '3d';
    this.host = element('div', { class: 'voxlite-view', 'data-view': '3d' });
    this.scene = new Scene(stage, { background });
    this.applyingCamera = false;
    this.cameraTimer = null;
    // Clipping-range updates also modify the camera: only a moved view is reported (by the hook).
    this.cameraSubscription = this.scene.onCameraChange(() => {
      if (this.applyingCamera) return;
      clearTimeout(this.cameraTimer);
      this.cameraTimer = setTimeout(() => hooks.cameraMoved(this.scene.getCamera()), CAMERA_SYNC_DELAY_MS);
    });
    this.host.addEventListener('dblclick', () => hooks.reset());
    this.cropHandles = new CropHandles(this.host, this.scene, hooks.cropMoved);
  }

  /** The panel's Crop tool: the crop box's handles shown or hidden. */
  setCropTool(on) {
    this.cropHandles.setActive(on);
  }

  /** A camera from the model: not reported back as a move. */
  setCamera(camera) {
    this.applyingCamera = true;
    try {
      this.scene.setCamera(camera);
    } finally {
      this.applyingCamera = false;
    }
  }

  // What 2D views do with these: the 3D view has no letters nor a 2D camera.
  layout() {}
  setOrientation() {}

  /** Before a frame: the crop handles over the box's faces. */
  syncOverlay() {
    this.cropHandles.sync();
  }

  destroy() {
    clearTimeout(this.cameraTimer);
    this.cameraSubscription.unsubscribe();
    this.cropHandles.destroy();
    this.host.remove();
    this.scene.destroy();
  }
}
