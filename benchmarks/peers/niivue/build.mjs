// Bundle the peer page into one file, dist/peer-niivue.html: index.html with the bundle of
// main.js inline (a saved page, like voxlite's: a static server that sends no JavaScript
// MIME type, as tests/harness/ranged.py does not, still runs it).
//
// fizarrita (chunk decoding) and ngff-zarr (OMERO statistics) start module workers with
// `new Worker(new URL("./x.js", import.meta.url))`, which esbuild leaves as it is: the
// bundle would ask for files beside it that are not there. This plugin bundles each such
// worker script on its own, inlines its text, and hands the Worker a blob: URL of it, so
// the page is one script and asks nothing of any host but the one serving the image.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER_URL = /new URL\(\s*(["'])(\.{1,2}\/[^"']+\.js)\1\s*,\s*import\.meta\.url\s*\)/g;

const inlineWorkers = {
  name: 'inline-workers',
  setup(build) {
    build.onLoad({ filter: /\.js$/, namespace: 'file' }, async (args) => {
      if (!args.path.includes(`${path.sep}node_modules${path.sep}@fideus-labs${path.sep}`)) {
        return undefined;
      }
      const source = await readFile(args.path, 'utf8');
      if (source.search(WORKER_URL) === -1) return undefined;
      const imports = [];
      const contents = source.replace(WORKER_URL, (_, _quote, relative) => {
        const name = `__peerWorker${imports.length}`;
        imports.push(
          `import ${name} from ${JSON.stringify(`inline-worker:${path.resolve(path.dirname(args.path), relative)}`)};`,
        );
        return `${name}()`;
      });
      return { contents: `${imports.join('\n')}\n${contents}`, loader: 'js', resolveDir: path.dirname(args.path) };
    });
    build.onResolve({ filter: /^inline-worker:/ }, (args) => ({
      path: args.path.slice('inline-worker:'.length),
      namespace: 'inline-worker',
    }));
    build.onLoad({ filter: /.*/, namespace: 'inline-worker' }, async (args) => {
      const worker = await esbuild.build({
        entryPoints: [args.path],
        bundle: true,
        format: 'esm',
        minify: true,
        write: false,
        logLevel: 'silent',
      });
      const text = worker.outputFiles[0].text;
      // One blob: URL per worker script, made when first asked for.
      return {
        contents: `let url; const text = ${JSON.stringify(text)};
export default () => (url ??= URL.createObjectURL(new Blob([text], { type: "text/javascript" })));`,
        loader: 'js',
      };
    });
  },
};

await mkdir(path.join(here, 'dist'), { recursive: true });
const bundle = await esbuild.build({
  entryPoints: [path.join(here, 'main.js')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  write: false,
  plugins: [inlineWorkers],
  logLevel: 'warning',
});
// In a script element, "</script" ends it wherever it is; "<\/script" is the same text in
// a JavaScript string or regular expression, the only places it can be.
const script = bundle.outputFiles[0].text.replaceAll('</script', '<\\/script');
const page = (await readFile(path.join(here, 'index.html'), 'utf8')).replace('/* PEER BUNDLE */', () => script);
await writeFile(path.join(here, 'dist', 'peer-niivue.html'), page);
console.log('wrote', path.join(here, 'dist', 'peer-niivue.html'), `${page.length} bytes`);
