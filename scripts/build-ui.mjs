// Bundles the web UI (TypeScript under src/service/ui/src) into dist/service/ui/app.js for the
// browser: one minified ES module, nothing loaded at run time but what the service serves (its
// Content-Security-Policy allows scripts from itself only: no inline script, no eval). The source
// map (app.js.map) stays beside it for debugging; the service does not serve it.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/service/ui/app.js');
const result = await build({
  entryPoints: [join(root, 'src/service/ui/src/main.ts')],
  outfile: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Browsers of the last few years: what the page already needed (dialog, EventSource, ResizeObserver).
  target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: 'external',
  sourcesContent: true,
  legalComments: 'none',
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
});
const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((f) => f.endsWith('app.js'))].bytes;
console.log(`web UI: dist/service/ui/app.js, ${(bytes / 1024).toFixed(1)} KiB`);
