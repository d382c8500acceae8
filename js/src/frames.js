// The frame loop: draw on request (at most one frame per animation frame), follow the
// quick first picture with the full-quality one, send the settled picture to Python, spin.
// It draws a "surface": today the 3D view's Scene (render, whenDrawn, preview, refine,
// hasContent, capture, spin); views sharing one render window would share one loop.

// The settled picture is sent to Python (for Viewer.screenshot) once nothing has moved for this long.
const FRAME_REPORT_DELAY_MS = 300;
const SPIN_DEGREES_PER_FRAME = 0.5;

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
    this.rotating = false; // the `rotate` trait
    this.spinning = false; // the spin animation runs
    this.reportTimer = null;
    this.stopped = false;
  }

  request() {
    if (this.pending || this.stopped) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (this.stopped) return;
      this.surface.render();
      this.status.frameDrawn(this.quality());
      // Once the GPU has drawn the quick picture, draw the full-quality one (and let the
      // viewer ask for the image's finer level): queued earlier, either would delay it.
      this.surface.whenDrawn(() => this.drawn());
    });
  }

  drawn() {
    if (this.stopped) return;
    if (!this.surface.preview) this.scheduleReport();
    else if (this.surface.refine()) this.request();
    else this.settled();
    this.hooks.drawn();
  }

  /** Refined without a new picture (MIP, slices): what is on screen is final. */
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
    if (!this.spinning) return this.scheduleReport();
    this.surface.spin(SPIN_DEGREES_PER_FRAME);
    this.surface.render();
    this.status.frameDrawn();
    requestAnimationFrame(() => {
      if (this.spinning && this.rotating) this.spin();
      else this.spinning = false;
    });
  }

  stop() {
    this.stopped = true;
    this.spinning = false;
    clearTimeout(this.reportTimer);
  }
}
