// The page's side of the stream worker (worker.js): requests with promises, progress
// callbacks and cancellation. The worker's code is bundled into widget.js as a string
// (build.mjs) and started from a blob: URL, so it needs no file of its own on any host.
import WORKER_SOURCE from 'voxlite:stream-worker';

export class WorkerClient {
  constructor({ onMissing = () => {}, onStats = () => {} } = {}) {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    this.worker = new Worker(url);
    URL.revokeObjectURL(url);
    this.jobs = new Map(); // job -> {resolve, reject, progress}
    this.serial = 0;
    this.onMissing = onMissing;
    this.onStats = onStats;
    this.opening = null;
    this.worker.onmessage = ({ data }) => this.received(data);
    this.worker.onerror = (event) => {
      this.rejectAll(new Error(`the stream's worker failed: ${event.message || 'it could not start'}`));
    };
  }

  received(message) {
    if (message.stats) this.onStats(message.stats);
    if (message.type === 'missing') return this.onMissing(message);
    if (message.type === 'opened') return this.opening?.resolve(message);
    if (message.type === 'failed' && message.job === undefined) return this.opening?.reject(new Error(message.message));
    const job = this.jobs.get(message.job);
    if (!job) return;
    if (message.type === 'progress') return job.progress(message.done, message.total);
    this.jobs.delete(message.job);
    if (message.type === 'read') return job.resolve(message);
    const error = new Error(message.message);
    error.cancelled = message.cancelled;
    job.reject(error);
  }

  /** Open the image at `url`: resolves to {image, levels} (ngff.js). */
  open(options) {
    return new Promise((resolve, reject) => {
      this.opening = { resolve, reject };
      this.worker.postMessage({ type: 'open', ...options });
    });
  }

  /** Read `region` of `level`: {job, promise}; cancel with cancel(job). */
  read(level, region, progress = () => {}) {
    this.serial += 1;
    const job = this.serial;
    const promise = new Promise((resolve, reject) => {
      this.jobs.set(job, { resolve, reject, progress });
    });
    this.worker.postMessage({ type: 'read', job, level, region });
    return { job, promise };
  }

  cancel(job) {
    const pending = this.jobs.get(job);
    if (!pending) return;
    this.jobs.delete(job);
    this.worker.postMessage({ type: 'cancel', job });
    const error = new Error('cancelled');
    error.cancelled = true;
    pending.reject(error);
  }

  budget(cacheBytes) {
    this.worker.postMessage({ type: 'budget', cacheBytes });
  }

  /** Settle every pending promise with `error`: nothing waits on a worker that is gone. */
  rejectAll(error) {
    for (const job of this.jobs.values()) job.reject(error);
    this.jobs.clear();
    this.opening?.reject(error);
    this.opening = null;
  }

  destroy() {
    this.worker.terminate();
    const error = new Error('cancelled: the stream was closed');
    error.cancelled = true; // as a cancelled read: callers already ignore those
    this.rejectAll(error);
  }
}
