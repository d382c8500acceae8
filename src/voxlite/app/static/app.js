// The viewer app's page: the widget's own front end (widget.js, the notebook's renderer)
// driven by the bundle's local model in place of anywidget's, its state coming from Python
// (voxlite.app.browser in worker.js). Files are read here and handed to the worker;
// nothing is uploaded. Every text from a file is set with textContent. `element`,
// `droppedFiles` and `createLocalModel` are the bundle's, imported once the worker has started.

// Python starts first: it is the slow part.
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const opened = performance.now();

const $ = (id) => document.getElementById(id);
const body = document.body;
const viewerEl = $('viewer');
const defaults = JSON.parse($('voxlite-defaults').textContent);
const narrow = () => window.matchMedia('(max-width: 700px)').matches;
const PAGE_TRAITS = ['height']; // the page sets them (from its size), Python never does

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
    const newImage = update.state && ('_image' in update.state || '_stream' in update.state);
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

// -- datasets at URLs -----------------------------------------------------------------

const FOLDER_INDEX = 'files.json'; // voxlite.app.build.FOLDER_INDEX
// Downloads at once: thousands at once (a large DICOM series) exhaust the browser's
// resources (ERR_INSUFFICIENT_RESOURCES). A few more than the 6 connections a browser opens
// to an HTTP/1.1 host, so that a connection never waits for the page to ask for a file.
const PARALLEL_FETCHES = 8;
const PROGRESS_EVERY_MS = 100;
const count = (n) => n.toLocaleString('en-US');

/** ?url=a&url=b: datasets beside the app (or on a CORS-enabled https host). A URL ending
 *  in / is a folder (a DICOM series) whose files.json lists its files; one ending in
 *  .zarr (an OME-Zarr image) is streamed by the viewer, chunk by chunk, not downloaded. */
async function openUrls(all) {
  const zarr = all.filter((url) => /\.zarr\/?$/i.test(url.split(/[?#]/)[0]));
  for (const url of zarr) act({ type: 'stream', url: new URL(url, window.location.href).href }, [], { label: url });
  const urls = all.filter((url) => !zarr.includes(url));
  if (!urls.length) return;
  setStatus(`Downloading ${urls.length === 1 ? urls[0] : `${urls.length} datasets`}…`);
  try {
    const given = urls.map(httpUrl);
    // Fetched: this page's origin and those given here, never one that a data folder names.
    const origins = new Set([window.location.origin, ...given.map((url) => url.origin)]);
    const files = [];
    for (const url of given) files.push(...(url.pathname.endsWith('/') ? await listedFiles(url, origins) : [url]));
    const buffers = await fetchAll(files, fetchProgress(files.length));
    await openBuffers(files.map(fileName), buffers);
  } catch (error) {
    setStatus('Could not download the dataset');
    showError(`Could not download ${urls.join(', ')}: ${error.message}`);
  }
}

/** A status line for `total` downloads, redrawn at most every PROGRESS_EVERY_MS. */
function fetchProgress(total) {
  let shown = 0;
  return (done) => {
    if (total < 2 || (done < total && performance.now() - shown < PROGRESS_EVERY_MS)) return;
    shown = performance.now();
    setStatus(`Fetching ${count(done)} / ${count(total)} files…`);
  };
}

function httpUrl(text) {
  const url = new URL(text, window.location.href);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${text}: not an http(s) URL`);
  return url;
}

function fileName(url) {
  return decodeURIComponent(url.pathname.split('/').pop()) || 'download';
}

async function fetchOk(url, options = {}) {
  const response = await fetch(url, { credentials: 'same-origin', ...options });
  if (!response.ok) throw new Error(`${url.pathname}: ${response.status} ${response.statusText}`);
  return response;
}

/** The files a folder's files.json names, resolved against it: all on an allowed origin,
 *  or none is fetched and the error names those that are not. */
async function listedFiles(folder, origins) {
  const index = new URL(FOLDER_INDEX, folder);
  const names = await (await fetchOk(index)).json();
  if (!Array.isArray(names)) throw new Error(`${index.pathname}: not a list of file names`);
  const resolve = (name) => {
    try {
      return new URL(String(name), index);
    } catch {
      return null;
    }
  };
  const urls = names.map(resolve);
  const allowed = (url) => url && (url.protocol === 'https:' || url.protocol === 'http:') && origins.has(url.origin);
  const refused = names.filter((_, i) => !allowed(urls[i]));
  if (refused.length) {
    const more = refused.length > 3 ? ` and ${count(refused.length - 3)} more` : '';
    const named = refused.slice(0, 3).map((name) => JSON.stringify(name));
    throw new Error(
      `${index.pathname} names ${named.join(', ')}${more}, not on this site: the app fetches ` +
        'the files of its own site, or of a site given in ?url=, and no others',
    );
  }
  return urls;
}

/** The bytes of every URL, in order, PARALLEL_FETCHES at a time; progress(done) after each.
 *  The first failure stops the others. */
async function fetchAll(urls, progress) {
  const buffers = new Array(urls.length);
  const abort = new AbortController();
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < urls.length && !abort.signal.aborted) {
      const i = next++;
      buffers[i] = await (await fetchOk(urls[i], { signal: abort.signal })).arrayBuffer();
      progress(++done);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_FETCHES, urls.length) }, lane));
  } catch (error) {
    abort.abort();
    throw error;
  }
  return buffers;
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

const params = new URLSearchParams(window.location.search).getAll('url');
if (params.length) openUrls(params);

// The widget's bundle: its render(), and the model and helpers this page shares with it.
const { default: widget, createLocalModel, droppedFiles, element } = await import('./widget.js');

// Files dropped anywhere on the page; the viewer takes those dropped on it.
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

// The viewer: the widget's own render(), full window, before Python is ready.
const viewerHeight = () => Math.max(64, Math.min(4096, Math.floor(viewerEl.clientHeight)));
model = createLocalModel(
  { ...defaults, height: viewerHeight(), ui_collapsed: narrow() },
  {
    send(content, buffers) {
      if (content?.type === 'open') openBuffers(content.names.map(String), buffers, { fromWidget: true });
    },
    save: sync,
    local: PAGE_TRAITS,
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
