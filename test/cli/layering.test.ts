/**
 * The CLI's modules import each other downwards only: the entry (main.ts) and the command table
 * above the commands, the commands above the shared modules (io, credentials, connection,
 * workspace, terminal, run execution, ...), and no circle anywhere, counting type-only imports and
 * the table's lazy `import()`s. A shared module re-exports nothing: each name has one home.
 * Read from the source files themselves.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI_DIR = fileURLToPath(new URL('../../src/cli/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Module (path relative to src/cli) → the src/cli modules it imports, statically, as types, or with import(). */
function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(dir)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)\.js'/g)]
      .map((m) => relative(dir, resolve(dirname(file), `${m[1]}.ts`)))
      .filter((target) => !target.startsWith('..'));
    graph.set(relative(dir, file), [...new Set(targets)]);
  }
  return graph;
}

/** Every circle of imports, each once, as the modules around it. */
function circles(graph: Map<string, string[]>): string[][] {
  const found = new Map<string, string[]>();
  const visit = (node: string, path: string[]): void => {
    const at = path.indexOf(node);
    if (at >= 0) {
      const circle = path.slice(at);
      found.set([...circle].sort().join(' '), circle);
      return;
    }
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
  };
  // Small graph: a depth-first walk from every module finds every circle.
  for (const node of graph.keys()) visit(node, []);
  return [...found.values()];
}

describe('src/cli imports', () => {
  const graph = importGraph(CLI_DIR);

  it('reads the modules it should (the entry, the table, the commands)', () => {
    expect(graph.get('main.ts')).toContain('command-table.ts');
    expect(graph.get('command-table.ts')).toContain('commands/scan.ts');
    expect(graph.size).toBeGreaterThan(20);
  });

  it('form no circle, type-only imports and lazy import() included', () => {
    expect(circles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('point down: nothing imports the entry, only the table imports commands, no command reaches the table', () => {
    const wrong: string[] = [];
    for (const [from, targets] of graph) {
      for (const to of targets) {
        if (to === 'main.ts') wrong.push(`${from} → main.ts (the entry)`);
        if (to.startsWith('commands/') && from !== 'command-table.ts') wrong.push(`${from} → ${to} (a command)`);
        // The help and the completion read the table; a command reading it would close a circle through the table's import()s.
        if (to === 'command-table.ts' && !['main.ts', 'help.ts', 'completion.ts'].includes(from)) wrong.push(`${from} → command-table.ts`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('re-export nothing: every name is imported from the module that defines it', () => {
    const reexports: string[] = [];
    for (const file of sources(CLI_DIR)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^export\s+(?:type\s+)?(?:\*|\{[^}]*\})(?:\s+from\s+'[^']+')?;/gm)) reexports.push(`${relative(CLI_DIR, file)}: ${m[0]}`);
    }
    expect(reexports).toEqual([]);
  });
});
