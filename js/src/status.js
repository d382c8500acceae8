// What the widget tells about itself: a message line, a progress bar, and attributes of its
// root element that tests, benchmarks and the viewer app read. This is the one place that
// writes them (their names and meanings are a contract):
//   data-voxlite-frames    pictures drawn so far, spin frames included
//   data-voxlite-quality   'preview' (the quick unshaded first picture) or 'full'
//   data-voxlite-state     'empty', 'ready' (something is shown) or 'error'
//   data-voxlite-level     the image level shown: 'preview', 'refined' or 'full'
//   data-voxlite-loading   while Python computes a finer level, its progress (0..1); absent otherwise
//   data-voxlite-reported  the frame count when the settled picture was last sent to Python
//   data-voxlite-views     the views shown, in layout order ('axial coronal sagittal 3d', '3d' ...)
//   data-voxlite-kind      what the image is: its pixel ('scalar', 'rgb', 'rgba', 'channels') and
//                          '2d' for a single slice ('rgb 2d' ...)
//   data-voxlite-stream-requests, -cancelled, -missing   a stream's chunk fetches so far: made,
//                          cancelled (aborted, or dropped from the queue) and missing (404: fill value)
//   data-voxlite-stream-bytes  the bytes a stream's responses carried so far (Content-Length)
//   data-voxlite-stream-planes  the planes a stream shows, 'axis:index:level' (full-resolution
//                          index; level 0 is the finest), space-separated
import { element } from './helpers.js';

export class Status {
  constructor(root) {
    this.root = root;
    this.frames = 0;
    this.message = element('div', { class: 'voxlite-message' });
    this.progress = element('div', { class: 'voxlite-progress' });
    this.progress.hidden = true;
    this.bar = element('div', { class: 'voxlite-progress-bar' });
    this.progressText = element('span');
    this.progress.append(this.bar, this.progressText);
  }

  /** The elements to place over the views. */
  get elements() {
    return [this.message, this.progress];
  }

  /** A picture was drawn; `quality` ('preview' or 'full') unless it is a spin frame. */
  frameDrawn(quality) {
    this.frames += 1;
    this.root.dataset.voxliteFrames = String(this.frames);
    if (quality) this.quality(quality);
  }

  /** The picture on screen is final at this quality (refined without drawing again). */
  quality(quality) {
    this.root.dataset.voxliteQuality = quality;
  }

  /** The settled picture went to Python. */
  reported() {
    this.root.dataset.voxliteReported = String(this.frames);
  }

  /** The views the layout shows, space-separated in their order. */
  views(names) {
    this.root.dataset.voxliteViews = names;
  }

  /** 'empty', 'ready' or 'error' (see error()). */
  state(state) {
    this.root.dataset.voxliteState = state;
  }

  /** An image is shown, at `level`: any earlier message is over. `kind`: see data-voxlite-kind. */
  imageShown(level, kind = 'scalar') {
    this.message.textContent = '';
    this.state('ready');
    this.root.dataset.voxliteLevel = level;
    this.root.dataset.voxliteKind = kind;
  }

  /** A line for the user (what is happening), as text. */
  say(text) {
    this.message.textContent = text;
  }

  error(error) {
    this.say(`voxlite: ${error.message || error}`);
    this.state('error');
    console.error('voxlite:', error);
  }

  /** A stream's counts of chunk fetches ({requested, cancelled, missing}). */
  stream({ requested = 0, cancelled = 0, missing = 0, bytes = 0 }) {
    this.root.dataset.voxliteStreamBytes = String(bytes);
    this.root.dataset.voxliteStreamRequests = String(requested);
    this.root.dataset.voxliteStreamCancelled = String(cancelled);
    this.root.dataset.voxliteStreamMissing = String(missing);
  }

  /** The planes a stream shows ('axis:index:level' keys). */
  streamPlanes(keys) {
    this.root.dataset.voxliteStreamPlanes = keys.join(' ');
  }

  /** Chunks of a stream are missing (shown as the fill value): a note, not an error. */
  missing(count, text) {
    this.root.dataset.voxliteStreamMissing = String(count);
    this.say(text);
  }

  /** A bar and a line of text while Python computes a finer level ({text, fraction}, or nothing). */
  loading(progress) {
    const { text, fraction } = progress || {};
    this.progress.hidden = text === undefined;
    if (this.progress.hidden) {
      delete this.root.dataset.voxliteLoading;
      return;
    }
    this.root.dataset.voxliteLoading = String(fraction);
    this.bar.style.width = `${Math.round(100 * fraction)}%`;
    this.progressText.textContent = `${text} ${Math.round(100 * fraction)}%`;
  }
}
