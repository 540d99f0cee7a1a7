// Copies the web UI (plain HTML, CSS and JavaScript: no bundler) next to the compiled service.
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'dist/service/ui'), { recursive: true });
cpSync(join(root, 'src/service/ui'), join(root, 'dist/service/ui'), { recursive: true });
