// The widget's style sheet, added once per document (or shadow root) by index.js.
import { CROP_STYLE } from './crop.js';
import { EDITOR_STYLE } from './opacityeditor.js';

export const STYLE = `${CROP_STYLE}${EDITOR_STYLE}
.voxlite-root { position: relative; width: 100%; overflow: hidden; font: 12px system-ui, sans-serif; outline: none; }
.voxlite-root:focus-visible { box-shadow: inset 0 0 0 2px #4a90d9; }
.voxlite-canvas { position: absolute; inset: 0; background: #2a2d33; }
.voxlite-root.docked .voxlite-canvas { left: 238px; }
.voxlite-views { position: absolute; inset: 0; display: grid; gap: 2px; }
.voxlite-view { position: relative; min-width: 0; min-height: 0; overflow: hidden; touch-action: none;
  user-select: none; -webkit-user-select: none; }
.voxlite-slice-view { cursor: crosshair; }
.voxlite-slice-view::before { content: ""; position: absolute; left: 0; top: 0; right: 0; height: 2px;
  background: var(--view-color); opacity: 0.9; pointer-events: none; }
.voxlite-letter { position: absolute; color: #ffd98a; font: 600 13px system-ui, sans-serif;
  text-shadow: 0 0 3px #000, 0 0 1px #000; pointer-events: none; }
.voxlite-letter[data-edge=left] { left: 5px; top: 50%; transform: translateY(-50%); }
.voxlite-letter[data-edge=right] { right: 5px; top: 50%; transform: translateY(-50%); }
.voxlite-letter[data-edge=top] { top: 4px; left: 50%; transform: translateX(-50%); }
.voxlite-letter[data-edge=bottom] { bottom: 3px; left: 50%; transform: translateX(-50%); }
.voxlite-oblique { position: absolute; top: 5px; right: 6px; padding: 0 4px; border-radius: 3px;
  font: 600 10px system-ui, sans-serif; color: #111; background: #ffb347; pointer-events: none; }
.voxlite-oblique[hidden] { display: none; }
.voxlite-ruler-labels { position: absolute; inset: 0; pointer-events: none; }
.voxlite-ruler-label { position: absolute; transform: translate(-50%, -140%); white-space: nowrap;
  color: #4ce8ff; font: 600 11px system-ui, sans-serif; background: rgba(0, 0, 0, 0.65);
  padding: 0 4px; border-radius: 3px; }
.voxlite-readout { position: absolute; right: 6px; bottom: 6px; z-index: 1; pointer-events: none;
  white-space: pre; font: 11px/1.35 ui-monospace, Menlo, Consolas, monospace; color: #eee;
  background: rgba(0, 0, 0, 0.6); border-radius: 3px; padding: 3px 6px; }
.voxlite-readout[hidden] { display: none; }
.voxlite-panel { position: absolute; top: 6px; left: 6px; width: 230px; max-height: calc(100% - 12px);
  overflow-y: auto; box-sizing: border-box; padding: 4px 6px;
  background: rgba(20, 22, 26, 0.78); color: #e8e8e8; border-radius: 4px; z-index: 2; }
.voxlite-root.docked .voxlite-panel { top: 0; left: 0; bottom: 0; width: 238px; max-height: none;
  border-radius: 0; background: #16181c; }
.voxlite-panel.collapsed { width: auto; }
.voxlite-panel.collapsed .voxlite-body { display: none; }
.voxlite-header { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.voxlite-title { font-weight: 600; }
.voxlite-panel button { background: #3a3f47; color: #eee; border: 1px solid #555; border-radius: 3px; cursor: pointer; }
.voxlite-panel button.active { background: #2d5f8f; border-color: #6af; }
.voxlite-panel button[hidden] { display: none; }
.voxlite-row { display: grid; grid-template-columns: 52px 1fr 58px; align-items: center; gap: 4px; margin: 3px 0; }
.voxlite-row.voxlite-pair { grid-template-columns: 1fr 1fr; }
.voxlite-row[hidden] { display: none; }
.voxlite-row input[type=range] { min-width: 0; width: 100%; margin: 0; }
.voxlite-row input[type=number] { width: 100%; box-sizing: border-box; background: #222; color: #eee; border: 1px solid #555; }
.voxlite-panel select { background: #222; color: #eee; border: 1px solid #555; min-width: 0; }
.voxlite-info { margin-top: 4px; color: #aab; white-space: pre-wrap; overflow-wrap: anywhere; }
.voxlite-buttons { display: flex; flex-wrap: wrap; gap: 6px; }
.voxlite-layers { display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 4px 0; }
.voxlite-layers[hidden] { display: none; }
.voxlite-layer { display: flex; align-items: center; gap: 3px; overflow-wrap: anywhere; }
.voxlite-legend { margin: 4px 0; }
.voxlite-legend[hidden] { display: none; }
.voxlite-legend-heading { display: flex; justify-content: space-between; align-items: center; margin-bottom: 2px; color: #aab; }
.voxlite-legend-rows { max-height: 160px; overflow-y: auto; }
.voxlite-legend-row { display: flex; align-items: center; justify-content: space-between; gap: 4px; margin: 1px 0; }
.voxlite-legend-label { display: flex; align-items: center; gap: 4px; min-width: 0; }
.voxlite-legend-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.voxlite-legend-row button { font-size: 10px; padding: 0 4px; }
.voxlite-swatch { flex: none; width: 10px; height: 10px; border-radius: 2px; border: 1px solid #0008; }
.voxlite-root.dropping { outline: 3px dashed #6af; outline-offset: -3px; }
.voxlite-message { position: absolute; inset: auto 6px 6px 6px; color: #fbb; z-index: 3; white-space: pre-wrap; }
.voxlite-progress { position: absolute; left: 6px; bottom: 6px; width: 220px; z-index: 3; color: #ddd;
  font: 11px sans-serif; background: rgba(0, 0, 0, 0.55); border-radius: 3px; padding: 3px 6px; }
.voxlite-progress[hidden] { display: none; }
.voxlite-progress-bar { height: 3px; background: #4aa3ff; margin-bottom: 2px; transition: width 0.2s; }
.voxlite-channels[hidden], .voxlite-compare[hidden] { display: none; }
.voxlite-channels, .voxlite-compare { margin: 4px 0; }
.voxlite-channel { margin: 2px 0 4px; }
.voxlite-channel input[type=color] { width: 18px; height: 16px; padding: 0; border: none; background: none; }
.voxlite-channel-window { display: grid; grid-template-columns: 1fr 1fr; gap: 4px; }
.voxlite-channel-window input { min-width: 0; width: 100%; margin: 0; }
.voxlite-compare-value { text-align: right; color: #aab; }
.voxlite-timebar { position: absolute; left: 50%; bottom: 8px; transform: translateX(-50%); z-index: 2;
  display: flex; align-items: center; gap: 6px; width: min(420px, 70%); padding: 3px 8px; border-radius: 4px;
  background: rgba(0, 0, 0, 0.6); color: #eee; font: 11px system-ui, sans-serif; }
.voxlite-timebar[hidden] { display: none; }
.voxlite-timebar input { flex: 1; min-width: 0; margin: 0; }
.voxlite-timebar button { background: #3a3f47; color: #eee; border: 1px solid #555; border-radius: 3px; cursor: pointer; width: 28px; }
`;
