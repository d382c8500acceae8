// The app's Python: Pyodide in a Web Worker, so that reading a large file never freezes
// the page. It runs voxlite.app.browser.App and answers the page's messages in order:
//   page -> worker  {id, type: 'open', names, buffers} | {id, type: 'sync', changes}
//                   | {id, type: 'show', item} | {id, type: 'role', item, role}
//                   | {id, type: 'stream', url}
//   worker -> page  {type: 'progress', step?, text} | {type: 'ready', update, seconds}
//                   | {id, type: 'update', update} | {type: 'failed', text}
import { loadPyodide } from './pyodide/pyodide.mjs';

const started = performance.now();
const progress = (text, step) => self.postMessage({ type: 'progress', text, step });

// Voxels arrive from Python as bytes (Uint8Array once converted); they are moved, not copied.
function transferables(value, found = []) {
  if (ArrayBuffer.isView(value)) found.push(value.buffer);
  else if (Array.isArray(value)) for (const item of value) transferables(item, found);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) transferables(item, found);
  return found;
}

function toJs(update) {
  try {
    return update.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
  } finally {
    update.destroy();
  }
}

// Seconds since the worker started, at the end of each start-up phase.
const phases = {};
const phase = (name) => (phases[name] = Math.round(performance.now() - started) / 1000);

async function start() {
  progress('Loading Python…', 'python');
  const pyodide = await loadPyodide({ indexURL: new URL('./pyodide/', import.meta.url).href });
  phase('pyodide');
  progress('Loading voxlite…', 'readers');
  // The lock lists voxlite with numpy only: the readers' packages (nibabel, pydicom ...)
  // are unpacked on their first import (voxlite.on_demand), after the app is ready.
  await pyodide.loadPackage(['voxlite'], { messageCallback: () => {}, errorCallback: (m) => progress(m) });
  phase('packages');
  const browser = pyodide.pyimport('voxlite.app.browser');
  const app = browser.App.callKwargs({ progress: (text) => progress(text) });
  phase('voxlite');
  self.postMessage({ type: 'ready', update: toJs(app.update()), phases });
  return { pyodide, app };
}

// Import the readers while the user picks a file, rather than after the drop. A file
// given sooner waits for this in the queue (it would need the same imports).
function warmUp(python) {
  python.pyodide.runPython('import nibabel, pydicom, nrrd, voxlite.io.nifti, voxlite.io.dicom');
  phase('readers');
  return python;
}

const ready = start();
ready.catch((error) => self.postMessage({ type: 'failed', text: String(error?.message || error) }));

async function handle({ pyodide, app }, message) {
  switch (message.type) {
    case 'open': {
      const files = pyodide.toPy(
        message.names.map((name, i) => [name, message.buffers[i]]),
        { depth: 2 },
      );
      try {
        return app.open(files);
      } finally {
        files.destroy();
      }
    }
    case 'sync': {
      const changes = pyodide.toPy(message.changes);
      try {
        return app.sync(changes);
      } finally {
        changes.destroy();
      }
    }
    case 'show':
      return app.show(message.item);
    case 'role':
      return app.set_role(message.item, message.role);
    case 'stream':
      return app.stream(message.url);
    default:
      throw new Error(`unknown request ${message.type}`);
  }
}

// One request at a time, in the order they came (Python calls are synchronous).
let queue = ready.then(warmUp);
self.onmessage = ({ data: message }) => {
  queue = queue.then(async (python) => {
    try {
      const update = toJs(await handle(python, message));
      self.postMessage({ id: message.id, type: 'update', update }, transferables(update));
    } catch (error) {
      // A Python exception that escaped the app: report its last line, keep serving.
      const text = String(error?.message || error)
        .trim()
        .split('\n')
        .pop();
      self.postMessage({ id: message.id, type: 'update', update: { errors: [text] } });
    }
    return python;
  });
};
