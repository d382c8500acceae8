// The benchmark peer (benchmarks/streaming_peer.py): NiiVue 0.69 with fidnii streaming the
// OME-Zarr named by ?url=, in a 3D render view, as fidnii's README shows. The page marks
// <body> when the first level is drawn, so the benchmark can poll it as it polls voxlite's
// data-voxlite-level:
//   data-peer-state   loading | drawn | error    (data-peer-message: the error)
//   data-peer-level   the first level drawn (its index: the coarsest, fidnii's preview)
//   data-peer-levels  the levels drawn so far, in order ("4,2")
//   data-peer-done    set once fidnii says populateComplete (no load pending)
// and window.peer holds the same, with performance.now() times.

import { OMEZarrNVImage } from '@fideus-labs/fidnii';
import { fromNgffZarr } from '@fideus-labs/ngff-zarr';
import { Niivue } from '@niivue/niivue';

const body = document.body;
const peer = { levels: [], times: [] };
window.peer = peer;

function fail(error) {
  body.dataset.peerState = 'error';
  body.dataset.peerMessage = String(error?.stack || error);
  console.error('peer:', error);
}

async function main() {
  const param = new URLSearchParams(location.search).get('url');
  if (!param) throw new Error('no OME-Zarr given: open this page with ?url=IMAGE.ome.zarr');
  // fromNgffZarr takes http(s) URLs only: a relative one is resolved against the page.
  const url = new URL(param, location.href).href.replace(/\/$/, '');
  body.dataset.peerState = 'loading';
  const nv = new Niivue({ backColor: [0, 0, 0, 1], show3Dcrosshair: false });
  await nv.attachToCanvas(document.getElementById('gl'));
  nv.setSliceType(nv.sliceTypeRender);
  const multiscales = await fromNgffZarr(url);
  peer.shapes = multiscales.images.map((image) => image.data.shape);
  const image = await OMEZarrNVImage.create({ multiscales, niivue: nv, autoLoad: false });
  image.addEventListener('loadingComplete', (event) => {
    // fidnii has called nv.updateGLVolume() (which draws); draw once more so the frame
    // includes the display window it widens after that.
    nv.drawScene();
    const level = event.detail.levelIndex;
    peer.levels.push(level);
    peer.times.push(performance.now());
    if (peer.firstFrame === undefined) {
      peer.firstFrame = performance.now();
      body.dataset.peerLevel = String(level);
      body.dataset.peerState = 'drawn';
    }
    body.dataset.peerLevels = peer.levels.join(',');
  });
  image.addEventListener('populateComplete', () => {
    peer.done = performance.now();
    body.dataset.peerDone = '1';
  });
  nv.addVolume(image);
  await image.populateVolume();
}

main().catch(fail);
