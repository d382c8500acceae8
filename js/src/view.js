// One viewport of the widget: a host element and the vtk.js scene drawn in it, with its
// camera. The viewer keeps a list of views; the bindings apply the model to each one's scene.
import { element } from './helpers.js';
import { Scene } from './scene.js';

const CAMERA_SYNC_DELAY_MS = 200;

export class View {
  /**
   * `hooks.resized()`: the host changed size (draw again); `hooks.cameraMoved(camera)`: the
   * user moved the camera, reported once the motion has settled.
   */
  constructor(parent, { background, hooks }) {
    this.host = element('div', { class: 'voxlite-canvas' });
    parent.append(this.host); // sized before the scene measures it
    this.scene = new Scene(this.host, { background });
    this.applyingCamera = false;
    this.cameraTimer = null;
    // Clipping-range updates also modify the camera: only a moved view is reported (by the hook).
    this.cameraSubscription = this.scene.onCameraChange(() => {
      if (this.applyingCamera) return;
      clearTimeout(this.cameraTimer);
      this.cameraTimer = setTimeout(() => hooks.cameraMoved(this.scene.getCamera()), CAMERA_SYNC_DELAY_MS);
    });
    this.resizeObserver = new ResizeObserver(() => {
      this.scene.resize();
      hooks.resized();
    });
    this.resizeObserver.observe(this.host);
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

  destroy() {
    clearTimeout(this.cameraTimer);
    this.cameraSubscription.unsubscribe();
    this.resizeObserver.disconnect();
    this.scene.destroy();
  }
}
