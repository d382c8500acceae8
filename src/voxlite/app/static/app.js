// The viewer app's page: the widget's own front end (widget.js, the notebook's renderer)
// driven by a stand-in for the anywidget model, whose state comes from Python
// (voxlite.app.browser in worker.js). Files are read here and handed to the worker;
// nothing is uploaded. Every text from a file is set with textContent.

// Python starts first: it is the slow part.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const opened = performance.now();

const $ = (id) => document.getElementById(id);
const body = document.body;
const viewerEl = $('viewer');
const defaults = JSON.parse($('voxlite-defaults').textContent);
const narrow = () => window.matchMedia('(max-width: 700px)').matches;
const PAGE_TRAITS = new Set(['height']);

function element(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

// -- status, errors --------------------------------------------------------------

const timings = { opened: 0 };
let stepReached = null;

function setStatus(text, step) {
  $('status').textContent = text;
  if (step) {
    stepReached = step;
    const order = [...$('steps').children].map((li) => li.dataset.step);
    for (const li of $('steps').children) {
      const index = order.indexOf(li.dataset.step);
      li.className = index < order.indexOf(step) ? 'done' : index === order.indexOf(step) ? 'current' : '';
    }
  }
}

function showError(text) {
  $('error-text').textContent = text;
  $('error').hidden = false;
}
$('error-close').addEventListener('click', () => ($('error').hidden = true));

// -- the model stand-in ------------------------------------------------------------

/** What anywidget gives render(): get/set/on/off/send/save_changes, over a plain object. */
function createModel(initial, hooks) {
  const state = { ...initial };
  const listeners = new Map();
  const dirty = new Set();
  const emit = (event, ...args) => {
    for (const callback of [...(listeners.get(event) || [])]) callback(...args);
  };
  return {
    get: (key) => state[key],
    set(key, value) {
      state[key] = value;
      if (!PAGE_TRAITS.has(key)) dirty.add(key);
      emit(`change:${key}`);
    },
    on(events, callback) {
      for (const event of events.split(' ')) listeners.set(event, [...(listeners.get(event) || []), callback]);
    },
    off(events, callback) {
      for (const event of events.split(' ')) {
        listeners.set(
          event,
          (listeners.get(event) || []).filter((c) => c !== callback),
        );
      }
    },
    send: (content, _callbacks, buffers) => hooks.send(content, buffers || []),
    save_changes() {
      if (!dirty.size) return;
      const changes = Object.fromEntries([...dirty].map((key) => [key, state[key]]));
      dirty.clear();
      hooks.save(changes);
    },
    /** Values from Python: set them all, then tell the view (as a synced model does). */
    update(changes) {
      Object.assign(state, changes);
      for (const key of Object.keys(changes)) {
        dirty.delete(key);
        emit(`change:${key}`);
      }
    },
    message: (content) => emit('msg:custom', content, []),
  };
}

/** Voxels come from the worker as Uint8Arrays; the widget reads DataViews, as from a kernel. */
function asDataViews(value) {
  if (ArrayBuffer.isView(value)) return new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(asDataViews);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asDataViews(v)]));
  }
  return value;
}

// -- talking to Python ---------------------------------------------------------------

let requests = 0;
const pending = new Map();

function request(message, transfer = []) {
  const id = ++requests;
  worker.postMessage({ ...message, id }, transfer);
  return new Promise((resolve) => pending.set(id, resolve));
}

let model = null;
let view = null;
const whenViewReady = new Promise((resolve) => (view = { resolve }));

worker.onmessage = async ({ data }) => {
  if (data.type === 'progress') {
    setStatus(data.text, data.step);
  } else if (data.type === 'ready') {
    timings.ready = (performance.now() - opened) / 1000;
    timings.worker = data.phases;
    await whenViewReady;
    // Python's first state is its defaults: changes the page made meanwhile win.
    for (const key of changedEarly) delete data.update.state[key];
    apply(data.update);
    for (const button of document.querySelectorAll('.bar button')) button.disabled = false;
    setStatus(busy ? $('status').textContent : 'Ready: open files or drop them anywhere', 'ready');
    body.dataset.appState = busy ? 'busy' : 'ready';
    performance.mark('voxlite:ready');
  } else if (data.type === 'update') {
    pending.get(data.id)(data.update);
    pending.delete(data.id);
  } else if (data.type === 'failed') {
    body.dataset.appState = 'failed';
    setStatus('Python could not start');
    showError(`Python could not start: ${data.text}`);
  }
};
worker.onerror = (event) => {
  body.dataset.appState = 'failed';
  showError(`Python could not start: ${event.message || 'the worker failed to load'}`);
};

/** Show what Python sent: the view's state, the list, the metadata, errors and notes. */
function apply(update) {
  if (update.state && Object.keys(update.state).length) {
    const state = asDataViews(update.state);
    for (const key of PAGE_TRAITS) delete state[key];
    model.update(state);
  }
  if (update.items) renderItems(update.items);
  if (update.info) renderInfo(update.info);
  if (update.errors?.length) showError(update.errors.join('\n'));
  if (update.notes?.length) $('status').textContent = update.notes.join(' · ');
}

function renderItems(items) {
  const list = $('items');
  list.replaceChildren();
  if (!items.length) list.append(element('li', { class: 'empty' }, 'Nothing loaded yet'));
  for (const item of items) {
    const row = element('li', {
      class: `item ${item.role}${item.shown ? ' shown' : ''}`,
      'data-item': String(item.id),
    });
    const show = element('button', { type: 'button', class: 'show', 'aria-pressed': String(item.shown) });
    const kind = item.role === 'labels' ? 'label map' : 'image';
    show.title = item.role === 'labels' ? 'Show or hide this label map over the image' : 'Show this image';
    show.append(
      element('span', { class: 'name' }, item.name),
      element('span', { class: 'summary' }, `${kind} · ${item.summary}`),
    );
    show.addEventListener('click', () => act({ type: 'show', item: item.id }));
    const other = item.role === 'labels' ? 'image' : 'labels';
    const role = element(
      'button',
      { type: 'button', class: 'role', title: `Use as ${other === 'labels' ? 'a label map' : 'an image'}` },
      `as ${other}`,
    );
    role.addEventListener('click', () => act({ type: 'role', item: item.id, role: other }));
    row.append(show, role);
    list.append(row);
  }
}

function renderInfo(rows) {
  const list = $('meta');
  list.replaceChildren();
  for (const [label, text] of rows) list.append(element('dt', {}, label), element('dd', {}, text));
}

// -- opening files --------------------------------------------------------------------

let busy = 0;

function frames() {
  const root = viewerEl.querySelector('.voxlite-root');
  return Number(root?.dataset.voxliteFrames || 0);
}

function nextFrame(before, timeout = 60_000) {
  const until = performance.now() + timeout;
  return new Promise((resolve) => {
    const check = () => (frames() > before || performance.now() > until ? resolve() : requestAnimationFrame(check));
    check();
  });
}

/** A request whose answer may bring a new image: apply it and wait for its first frame. */
async function act(message, transfer = [], { fromWidget = false, label = '' } = {}) {
  busy += 1;
  body.dataset.appState = 'busy';
  try {
    if (!timings.ready) setStatus(`Loading Python… ${label || 'your file'} opens when it is ready`);
    const update = await request(message, transfer);
    const before = frames();
    const newImage = update.state && '_image' in update.state;
    if (newImage) setStatus('Rendering…');
    apply(update);
    if (fromWidget && update.errors?.length) {
      model.message({ type: 'error', message: update.errors.join('\n') });
    }
    if (newImage) {
      await nextFrame(before);
      $('welcome').hidden = true;
      timings.lastFrame = (performance.now() - opened) / 1000;
      setStatus(update.notes?.length ? update.notes.join(' · ') : `Showing ${update.shown}`);
    } else if (update.errors?.length) {
      setStatus('Could not open that: see the message');
    }
    return update;
  } finally {
    busy -= 1;
    timings.opened += message.type === 'open' ? 1 : 0;
    body.dataset.opened = String(timings.opened);
    body.dataset.appState = busy ? 'busy' : timings.ready ? 'ready' : 'loading';
  }
}

/** Panel and mouse changes to Python; it answers with what follows from them
 *  (a CT colormap sets window and level). */
const changedEarly = new Set();
async function sync(changes) {
  if (!timings.ready) for (const key of Object.keys(changes)) changedEarly.add(key);
  apply(await request({ type: 'sync', changes }));
}

function openBuffers(names, buffers, options = {}) {
  const label = names.length === 1 ? names[0] : `${names.length} files`;
  setStatus(`Reading ${label}…`);
  return act({ type: 'open', names, buffers }, buffers, { ...options, label });
}

async function openFiles(files, options = {}) {
  files = [...files];
  if (!files.length) return;
  timings.fileStart = (performance.now() - opened) / 1000;
  $('error').hidden = true;
  setStatus(`Reading ${files.length === 1 ? files[0].name : `${files.length} files`}…`);
  let buffers;
  try {
    buffers = await Promise.all(files.map((file) => file.arrayBuffer()));
  } catch (error) {
    showError(`The browser could not read the files: ${error.message}`);
    return;
  }
  await openBuffers(
    files.map((file) => file.name),
    buffers,
    options,
  );
}

/** Files dropped on the page; folders (a DICOM series) are walked. */
async function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.());
  if (!entries.some(Boolean)) return [...dataTransfer.files];
  const files = [];
  const walk = async (entry) => {
    if (!entry) return;
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}

/** ?url=a&url=b: datasets beside the app (or on a CORS-enabled https host). A URL ending
 *  in / is a folder (a DICOM series) whose files.json lists its files. */
async function openUrls(urls) {
  setStatus(`Downloading ${urls.length === 1 ? urls[0] : `${urls.length} datasets`}…`);
  const fetchOne = async (url) => {
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`${url.pathname}: ${response.status} ${response.statusText}`);
    return response;
  };
  try {
    const names = [];
    const buffers = [];
    for (const text of urls) {
      const url = new URL(text, window.location.href);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${text}: not an http(s) URL`);
      const files = url.pathname.endsWith('/')
        ? (await (await fetchOne(new URL('files.json', url))).json()).map((name) => new URL(name, url))
        : [url];
      const responses = await Promise.all(files.map(fetchOne));
      for (const [i, response] of responses.entries()) {
        names.push(decodeURIComponent(files[i].pathname.split('/').pop()) || 'download');
        buffers.push(await response.arrayBuffer());
      }
    }
    await openBuffers(names, buffers);
  } catch (error) {
    setStatus('Could not download the dataset');
    showError(`Could not download ${urls.join(', ')}: ${error.message}`);
  }
}

// -- the page ---------------------------------------------------------------------------

for (const [button, input] of [
  ['open-files', 'file-input'],
  ['open-folder', 'folder-input'],
]) {
  $(button).addEventListener('click', () => $(input).click());
  $(input).addEventListener('change', () => {
    const files = [...$(input).files];
    $(input).value = '';
    openFiles(files);
  });
}

$('toggle-side').addEventListener('click', () => {
  const closed = body.classList.toggle('side-closed');
  $('toggle-side').setAttribute('aria-expanded', String(!closed));
});
if (narrow()) {
  body.classList.add('side-closed');
  $('toggle-side').setAttribute('aria-expanded', 'false');
}

const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  $('drop-hint').hidden = false;
});
document.addEventListener('dragleave', (event) => {
  if (!event.relatedTarget) $('drop-hint').hidden = true;
});
document.addEventListener('drop', async (event) => {
  $('drop-hint').hidden = true;
  if (event.defaultPrevented || !hasFiles(event)) return; // the viewer itself took it
  event.preventDefault();
  openFiles(await droppedFiles(event.dataTransfer));
});

const params = new URLSearchParams(window.location.search).getAll('url');
if (params.length) openUrls(params);

// The viewer: the widget's own render(), full window, before Python is ready.
const widget = (await import('./widget.js')).default;
const viewerHeight = () => Math.max(64, Math.min(4096, Math.floor(viewerEl.clientHeight)));
model = createModel(
  { ...defaults, height: viewerHeight(), ui_collapsed: narrow() },
  {
    send(content, buffers) {
      if (content && content.type === 'open') openBuffers(content.names.map(String), buffers, { fromWidget: true });
    },
    save: sync,
  },
);
if (narrow()) sync({ ui_collapsed: true });
const cleanup = widget.render({ model, el: viewerEl });
new ResizeObserver(() => {
  if (model.get('height') !== viewerHeight()) model.update({ height: viewerHeight() });
}).observe(viewerEl);
view.resolve();
setStatus(stepReached ? $('status').textContent : 'Loading Python…', stepReached || 'python');

// For scripting and tests: the model, timings (seconds since the page opened).
window.voxliteApp = { model, timings, cleanup, openFiles, openUrls };
