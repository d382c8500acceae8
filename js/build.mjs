// Bundle the widget front end into one ES module inside the Python package,
// with the licences of every npm package that ends up in it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, '..', 'src', 'voxlite', 'static');

// The stream's Web Worker (src/stream/worker.js: zarrita and numcodecs, whose WebAssembly
// is inlined as base64) is bundled first, then imported by the widget as a string
// ('voxlite:stream-worker') and started from a blob: URL: one file, no CDN, no extra URL.
const worker = await build({
  entryPoints: [join(here, 'src', 'stream', 'worker.js')],
  bundle: true,
  format: 'iife',
  minify: true,
  target: ['es2020'],
  legalComments: 'none',
  metafile: true,
  write: false,
  logLevel: 'warning',
});
const workerPlugin = {
  name: 'stream-worker',
  setup(plugin) {
    plugin.onResolve({ filter: /^voxlite:stream-worker$/ }, () => ({ path: 'stream-worker', namespace: 'voxlite' }));
    plugin.onLoad({ filter: /.*/, namespace: 'voxlite' }, () => ({
      contents: `export default ${JSON.stringify(worker.outputFiles[0].text)};`,
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: [join(here, 'src', 'index.js')],
  plugins: [workerPlugin],
  outfile: join(staticDir, 'widget.js'),
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['es2020'],
  legalComments: 'none', // collected below instead
  metafile: true,
  logLevel: 'info',
});

// node_modules/<name> or node_modules/@scope/<name> of each bundled input.
const packages = new Set();
for (const input of [...Object.keys(result.metafile.inputs), ...Object.keys(worker.metafile.inputs)]) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) packages.add(match[1]);
}
const sections = [...packages].sort().map((name) => {
  const root = join(here, 'node_modules', name);
  const meta = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].find((f) => existsSync(join(root, f)));
  const text = file ? readFileSync(join(root, file), 'utf8').trim() : `License: ${meta.license}`;
  return `${name}@${meta.version} (${meta.license})\n${'-'.repeat(60)}\n${text}\n`;
});
writeFileSync(
  join(staticDir, 'THIRD_PARTY_LICENSES.txt'),
  `Third-party code bundled in widget.js\n\n${sections.join('\n')}`,
);
console.log(`bundled ${packages.size} npm packages: ${[...packages].sort().join(', ')}`);
