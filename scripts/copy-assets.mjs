// Copies the web UI's pages and stylesheet (src/service/ui/*.html, *.css) next to the compiled
// service; its script is bundled from TypeScript by scripts/build-ui.mjs.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src/service/ui');
const to = join(root, 'dist/service/ui');
mkdirSync(to, { recursive: true });
for (const entry of readdirSync(from, { withFileTypes: true })) {
  if (entry.isFile() && /\.(html|css)$/.test(entry.name)) copyFileSync(join(from, entry.name), join(to, entry.name));
}
