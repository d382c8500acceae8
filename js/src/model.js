// The model contract of render() for pages without a kernel. In a notebook anywidget hands
// render() a model synced with Python over a comm; the save_html page and the viewer app
// hand it this one, so that the widget runs the same code everywhere.

/**
 * A model over a plain object: what anywidget gives render() (get, set, on, off, send,
 * save_changes), plus the two things a comm would deliver: `update(changes)` for values
 * from Python and `message(content, buffers)` for a custom message ('msg:custom').
 *
 * `hooks` (all optional):
 * - `send(content, buffers)`: the view sent a custom message (model.send).
 * - `save(changes, state)`: save_changes() with the traits set since the last save (no
 *   call when there are none), and a shallow copy of the whole state.
 * - `local`: names of traits the page itself owns (the app's height): set, never saved.
 */
export function createLocalModel(initialState = {}, hooks = {}) {
  const state = { ...initialState };
  const listeners = new Map(); // event name -> callbacks
  const dirty = new Set();
  const local = new Set(hooks.local || []);
  const emit = (event, ...args) => {
    for (const callback of [...(listeners.get(event) || [])]) callback(...args);
  };
  // Backbone (behind anywidget's model) takes space-separated event names; so does this.
  const names = (events) => events.split(' ').filter(Boolean);
  return {
    get: (key) => state[key],
    set(key, value) {
      state[key] = value;
      if (!local.has(key)) dirty.add(key);
      emit(`change:${key}`);
    },
    on(events, callback) {
      for (const event of names(events)) listeners.set(event, [...(listeners.get(event) || []), callback]);
    },
    /** Without a callback, every listener of those events goes. */
    off(events, callback) {
      for (const event of names(events)) {
        listeners.set(event, callback ? (listeners.get(event) || []).filter((c) => c !== callback) : []);
      }
    },
    send(content, _callbacks, buffers) {
      hooks.send?.(content, buffers || []);
    },
    save_changes() {
      if (!dirty.size) return;
      const changes = Object.fromEntries([...dirty].map((key) => [key, state[key]]));
      dirty.clear();
      hooks.save?.(changes, { ...state });
    },
    /** Values from Python: set them all, then tell the view (as a synced model does); Python's win. */
    update(changes) {
      Object.assign(state, changes);
      for (const key of Object.keys(changes)) {
        dirty.delete(key);
        emit(`change:${key}`);
      }
    },
    /** A custom message from Python, as anywidget delivers it to model.on('msg:custom'). */
    message(content, buffers = []) {
      emit('msg:custom', content, buffers);
    },
  };
}
