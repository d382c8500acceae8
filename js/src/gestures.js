// Pointer, wheel and touch input of a 2D view, as intents (docs/views.md has the table):
//   left drag: the crosshair (or a ruler, with the ruler tool); right drag: window/level;
//   middle drag: pan; wheel: one slice per notch (Shift: ten); Ctrl + wheel: zoom;
//   double click: reset the view; one finger: the crosshair; two fingers: pan and zoom.
// Positions are CSS pixels from the view's top left.

const WHEEL_NOTCH = 40; // pixels of wheel delta that make one slice step (a notch is 100-120)
const ZOOM_PER_WHEEL_PIXEL = 0.002;
const LINE_PIXELS = 40; // a wheel 'line' (deltaMode 1)

/**
 * Bind the gestures of `element` to `intents`:
 *   hover(x, y) / leave(), point(x, y, phase) with phase 'start' | 'move' | 'end' (left drag,
 *   one finger), measure(x, y, phase) (the same with the ruler tool: `measuring()` says),
 *   window(dx, dy, phase) (right drag, pixels since the start), pan(dx, dy), zoom(factor, x, y),
 *   step(slices, x, y), reset(), focus().
 * Returns an object with unbind().
 */
export function bindGestures(element, intents) {
  const pointers = new Map(); // pointerId -> {x, y}
  let drag = null; // {kind: 'point' | 'measure' | 'window' | 'pan' | 'pinch', start}
  let wheelRest = 0;

  const position = (event) => {
    const box = element.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  const pinch = () => {
    const [a, b] = [...pointers.values()];
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, distance: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
  };
  const finish = (x, y) => {
    if (drag?.kind === 'point' || drag?.kind === 'measure') intents[drag.kind](x, y, 'end');
    if (drag?.kind === 'window') intents.window(x - drag.start[0], y - drag.start[1], 'end');
    drag = null;
  };

  const down = (event) => {
    intents.focus();
    const [x, y] = position(event);
    pointers.set(event.pointerId, { x, y });
    element.setPointerCapture?.(event.pointerId);
    event.preventDefault();
    if (event.pointerType === 'touch' && pointers.size === 2) {
      if (drag?.kind === 'point' || drag?.kind === 'measure') finish(x, y);
      drag = { kind: 'pinch', ...pinch() };
      return;
    }
    if (pointers.size > 1) return;
    const kinds = { 0: intents.measuring() ? 'measure' : 'point', 1: 'pan', 2: 'window' };
    const kind = event.pointerType === 'touch' ? kinds[0] : kinds[event.button];
    if (!kind) return;
    drag = { kind, start: [x, y], last: [x, y] };
    if (kind === 'point' || kind === 'measure') intents[kind](x, y, 'start');
    if (kind === 'window') intents.window(0, 0, 'start');
  };

  const move = (event) => {
    const [x, y] = position(event);
    if (pointers.has(event.pointerId)) pointers.set(event.pointerId, { x, y });
    if (!drag) return intents.hover(x, y);
    event.preventDefault();
    if (drag.kind === 'pinch') {
      if (pointers.size < 2) return;
      const now = pinch();
      intents.pan(now.x - drag.x, now.y - drag.y);
      intents.zoom(now.distance / drag.distance, now.x, now.y);
      Object.assign(drag, now);
    } else if (drag.kind === 'pan') {
      intents.pan(x - drag.last[0], y - drag.last[1]);
    } else if (drag.kind === 'window') {
      intents.window(x - drag.start[0], y - drag.start[1], 'move');
    } else {
      intents[drag.kind](x, y, 'move');
    }
    drag.last = [x, y];
    intents.hover(x, y);
  };

  const up = (event) => {
    const [x, y] = position(event);
    pointers.delete(event.pointerId);
    if (drag?.kind === 'pinch') {
      if (pointers.size === 0) drag = null;
      return;
    }
    if (pointers.size === 0) finish(x, y);
  };

  const wheel = (event) => {
    event.preventDefault(); // the page does not scroll under a 2D view
    const [x, y] = position(event);
    const unit = event.deltaMode === 1 ? LINE_PIXELS : event.deltaMode === 2 ? 20 * LINE_PIXELS : 1;
    // Shift + wheel scrolls sideways in some browsers: its delta comes as deltaX.
    const delta = (event.deltaY || event.deltaX) * unit;
    if (event.ctrlKey || event.metaKey) {
      intents.zoom(Math.exp(-delta * ZOOM_PER_WHEEL_PIXEL), x, y);
      return;
    }
    // A notch steps one slice; a touchpad's small deltas add up to one.
    let steps = Math.sign(delta);
    if (Math.abs(delta) >= WHEEL_NOTCH) wheelRest = 0;
    else {
      wheelRest += delta;
      steps = Math.trunc(wheelRest / WHEEL_NOTCH);
      wheelRest -= steps * WHEEL_NOTCH;
    }
    // Wheel down (away from the user) goes down through the slices: towards lower indices.
    if (steps) intents.step(-steps * (event.shiftKey ? 10 : 1), x, y);
  };

  const leave = () => {
    if (!drag) intents.leave();
  };
  const doubleClick = (event) => {
    event.preventDefault();
    intents.reset();
  };

  const listeners = [
    ['pointerdown', down],
    ['pointermove', move],
    ['pointerup', up],
    ['pointercancel', up],
    ['pointerleave', leave],
    ['wheel', wheel],
    ['dblclick', doubleClick],
  ];
  for (const [name, listener] of listeners) element.addEventListener(name, listener, { passive: false });
  return {
    unbind() {
      for (const [name, listener] of listeners) element.removeEventListener(name, listener, { passive: false });
    },
  };
}
