// The widget's one WebGL render window: a canvas over the views area, and one renderer
// per viewport. Every view draws into it, so one frame loop, one GPU fence and one capture
// serve them all, and a notebook of quad widgets holds one WebGL context per widget
// (Chrome keeps about 16 per page and drops the oldest beyond).
import '@kitware/vtk.js/Rendering/Profiles/Volume';
import '@kitware/vtk.js/Rendering/Profiles/Geometry';
import '@kitware/vtk.js/Rendering/OpenGL/RenderWindow'; // registers the 'WebGL' view

import vtkInteractorStyleTrackballCamera from '@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera';
import vtkRenderer from '@kitware/vtk.js/Rendering/Core/Renderer';
import vtkRenderWindow from '@kitware/vtk.js/Rendering/Core/RenderWindow';
import vtkRenderWindowInteractor from '@kitware/vtk.js/Rendering/Core/RenderWindowInteractor';

export class Stage {
  /** `host`: the element the canvas fills (the views area). */
  constructor(host) {
    this.host = host;
    this.renderWindow = vtkRenderWindow.newInstance();
    this.glWindow = this.renderWindow.newAPISpecificView('WebGL');
    this.glWindow.setContainer(host);
    // Made before vtk.js asks for it, so vtk.js gets this context back: a drawing buffer
    // kept after each frame lets a screenshot read the picture without rendering again,
    // and lets a frame redraw only the viewports that changed.
    const context = this.glWindow.getCanvas().getContext('webgl2', {
      preserveDrawingBuffer: true,
      depth: true,
      alpha: true,
      powerPreference: 'high-performance',
    });
    this.preserved = !!context && context.getContextAttributes().preserveDrawingBuffer;
    this.gl = context;
    this.maxTextureSide = context ? context.getParameter(context.MAX_3D_TEXTURE_SIZE) : 2048;
    this.maxTextureWidth = context ? context.getParameter(context.MAX_TEXTURE_SIZE) : 4096;
    this.renderWindow.addView(this.glWindow);
    // The volume mapper asks the window's interactor whether it animates, so there is one
    // even without a 3D view; it takes events from the 3D view's cell only (bindTrackball).
    this.interactor = vtkRenderWindowInteractor.newInstance();
    this.interactor.setInteractorStyle(vtkInteractorStyleTrackballCamera.newInstance());
    this.interactor.setView(this.glWindow);
    this.interactor.initialize();
    this.trackballElement = null;
  }

  /** A renderer of its own for a viewport; `interactive`: the trackball may move its camera. */
  addRenderer({ background = [0, 0, 0], interactive = false } = {}) {
    const renderer = vtkRenderer.newInstance({ background });
    renderer.setInteractive(interactive);
    this.renderWindow.addRenderer(renderer);
    return renderer;
  }

  removeRenderer(renderer) {
    this.renderWindow.removeRenderer(renderer);
  }

  /** The trackball takes the pointer and wheel events of `element` (the 3D view's cell), or none. */
  bindTrackball(element) {
    if (element === this.trackballElement) return;
    if (this.trackballElement) this.interactor.unbindEvents();
    this.trackballElement = element;
    if (element) this.interactor.bindEvents(element);
  }

  /** Place each renderer over its element ([[renderer, element], ...]), in the host's coordinates. */
  layout(placements) {
    const host = this.host.getBoundingClientRect();
    const width = Math.max(host.width, 1);
    const height = Math.max(host.height, 1);
    for (const [renderer, element] of placements) {
      const box = element.getBoundingClientRect();
      const left = (box.left - host.left) / width;
      const right = (box.right - host.left) / width;
      const top = (box.top - host.top) / height;
      const bottom = (box.bottom - host.top) / height;
      renderer.setViewport(clamp(left), clamp(1 - bottom), clamp(right), clamp(1 - top));
    }
  }

  /** Draw the renderers given (all by default); the others keep their pixels (the buffer is kept). */
  render(renderers = null) {
    const all = this.renderWindow.getRenderers();
    const only = renderers && this.preserved ? new Set(renderers) : null;
    for (const renderer of all) renderer.setDraw(!only || only.has(renderer));
    try {
      this.renderWindow.render();
    } finally {
      for (const renderer of all) renderer.setDraw(true);
    }
  }

  /** Call `callback` while the trackball animates (true) and once it stops (false). */
  onAnimation(callback) {
    const started = this.interactor.onStartAnimation(() => callback(true));
    const ended = this.interactor.onEndAnimation(() => callback(false));
    return {
      unsubscribe: () => {
        started.unsubscribe();
        ended.unsubscribe();
      },
    };
  }

  /**
   * Call `callback` once the GPU has finished everything drawn so far. Rendering is
   * asynchronous: on a slow GPU (or SwiftShader) a frame reaches the screen seconds
   * after render() returns, and work queued meanwhile would delay it further.
   */
  whenDrawn(callback) {
    const gl = this.gl;
    if (!gl) return setTimeout(callback, 0);
    const fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    // A fence's status changes between tasks only, so it is polled from timers. Once
    // signalled, two animation frames let the compositor put the picture on screen.
    const poll = () => {
      if (gl.getSyncParameter(fence, gl.SYNC_STATUS) !== gl.SIGNALED) return setTimeout(poll, 15);
      gl.deleteSync(fence);
      return requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(callback, 0)));
    };
    return setTimeout(poll, 0);
  }

  /** The picture on screen, every view of the layout: {width, height, rgba} (rows top to bottom). */
  capture() {
    // Without a kept drawing buffer, render and read in the same task, before it is cleared.
    if (!this.preserved) this.render();
    const source = this.glWindow.getCanvas();
    const canvas = document.createElement('canvas');
    canvas.width = source.width;
    canvas.height = source.height;
    const context = canvas.getContext('2d');
    // The gaps between the views are the host's background on screen: so in the picture.
    context.fillStyle = getComputedStyle(this.host).backgroundColor;
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(source, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    return { width: canvas.width, height: canvas.height, rgba: data };
  }

  /** Follow the host's size (the drawing buffer is cleared: every view draws again). */
  resize() {
    const { width, height } = this.host.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.glWindow.setSize(Math.max(1, Math.floor(width * ratio)), Math.max(1, Math.floor(height * ratio)));
  }

  destroy() {
    this.bindTrackball(null);
    this.interactor.delete();
    this.glWindow.setContainer(null);
    this.glWindow.delete();
    this.renderWindow.delete();
  }
}

function clamp(value) {
  return Math.min(1, Math.max(0, value));
}
