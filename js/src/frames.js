// The frame loop: draw on request (at most one frame per animation frame), draw the 3D view
// as a quick preview while things move and at full quality once they settle, send the
// settled picture to Python, spin. It draws a "surface": the Viewer's render window with all
// its views (render, whenDrawn, preview, toPreview, refine, changes3d, hasContent, capture, spin).

// The settled picture is sent to Python (for Viewer.screenshot) once nothing has moved for this long.
const FRAME_REPORT_DELAY_MS = 300;
// The full-quality 3D frame is drawn once no change has come for this long: a control or a
// gesture that moves draws cheap frames (the 2D views, an unshaded coarse 3D preview) only.
const SETTLE_DELAY_MS = 250;
const SPIN_DEGREES_PER_FRAME = 0.5;
// A request this long after the last frame is drawn at once (see FrameLoop.request).
const IDLE_FRAME_MS = 50;

export class FrameLoop {
  /**
   * `status`: the Status that counts frames. `hooks.drawn()`: a picture has reached the
   * screen; `hooks.report(picture)`: send the settled picture ({width, height, rgba}).
   */
  constructor(surface, status, hooks) {
    this.surface = surface;
    this.status = status;
    this.hooks = hooks;
    this.pending = false; // a frame is asked for
    this.lastFrame = Number.NEGATIVE_INFINITY; // performance.now() of the last frame drawn
    this.refining = false; // the frame asked for is the full-quality one
    this.rotating = false; // the `rotate` trait
    this.spinning = false; // the spin animation runs
    this.reportTimer = null;
    this.settleTimer = null;
    this.stopped = false;
  }

  request() {
    clearTimeout(this.settleTimer);
    if (this.pending || this.stopped) return;
    this.pending = true;
    // After a pause (a wheel notch, a click, a trait from Python), draw at the end of this
    // task instead of at the next animation frame: the picture then reaches the screen a
    // frame sooner. Changes made in the same task (one message's traits) still make one
    // frame; while things keep moving, frames stay paced by the display.
    const idle = performance.now() - this.lastFrame > IDLE_FRAME_MS;
    if (idle) queueMicrotask(() => this.draw());
    else requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.pending = false;
    if (this.stopped) return;
    this.lastFrame = performance.now();
    // A change to the 3D view while things move: its quick picture first.
    if (!this.refining && this.surface.changes3d()) this.surface.toPreview();
    this.refining = false;
    this.surface.render();
    this.status.frameDrawn(this.quality());
    // Once the GPU has drawn the quick picture, draw the full-quality one (and let the
    // viewer ask for the image's finer level): queued earlier, either would delay it.
    this.surface.whenDrawn(() => this.drawn());
  }

  drawn() {
    if (this.stopped) return;
    this.hooks.drawn();
    if (this.pending || this.spinning) return; // more is coming
    if (this.surface.preview) this.moved();
    else this.scheduleReport();
  }

  /** Something moved (a frame, the trackball): full quality once nothing more comes. */
  moved() {
    clearTimeout(this.settleTimer);
    clearTimeout(this.reportTimer);
    this.settleTimer = setTimeout(() => this.settle(), SETTLE_DELAY_MS);
  }

  settle() {
    if (this.stopped || this.pending || this.spinning) return;
    if (this.surface.refine()) {
      this.refining = true;
      this.request();
    } else this.settled();
  }

  /** Refined without a new picture (slices, no 3D view): what is on screen is final. */
  settled() {
    this.status.quality(this.quality());
    this.scheduleReport();
  }

  quality() {
    return this.surface.preview ? 'preview' : 'full';
  }

  // Python cannot wait for the browser inside a running cell (the kernel handles
  // messages between cells), so the view sends its settled picture unasked.
  scheduleReport() {
    clearTimeout(this.reportTimer);
    this.reportTimer = setTimeout(() => this.report(), FRAME_REPORT_DELAY_MS);
  }

  async report() {
    const surface = this.surface;
    if (this.stopped || this.spinning || this.pending || surface.preview || !surface.hasContent()) return;
    try {
      await this.hooks.report(surface.capture());
      this.status.reported();
    } catch (error) {
      console.warn('voxlite: could not report the picture', error);
    }
  }

  /** Follow the `rotate` trait: spin about the view-up axis while it is on. */
  rotate(on) {
    this.rotating = on;
    if (on && !this.spinning) this.spin();
  }

  spin() {
    this.spinning = this.rotating && !this.stopped;
    if (!this.spinning) return this.request(); // the last turn, then full quality
    this.surface.spin(SPIN_DEGREES_PER_FRAME);
    this.surface.toPreview();
    this.surface.render();
    this.status.frameDrawn();
    requestAnimationFrame(() => {
      if (this.spinning && this.rotating) this.spin();
      else {
        this.spinning = false;
        this.request();
      }
    });
  }

  stop() {
    this.stopped = true;
    this.spinning = false;
    clearTimeout(this.reportTimer);
    clearTimeout(this.settleTimer);
  }
}
