/** No import cycles in the compiled package: every relative import of dist/lib and dist/scripts, static or dynamic, is walked. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../lib/util/paths.js';

// `import ... from './x.js'`, `export ... from './x.js'`, `import './x.js'` and `import('./x.js')` with a literal.
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

/** Relative imports of every file (absolute paths), as a graph. */
export function importGraph(roots: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of roots.flatMap(jsFiles)) {
    const text = readFileSync(f, 'utf8');
    graph.set(f, [...text.matchAll(IMPORT_RE)].map((m) => resolve(dirname(f), m[2]!)));
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the list of files in it. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const dep of graph.get(f) ?? []) {
      if (!graph.has(dep)) continue;
      const s = state.get(dep);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (s === undefined) visit(dep);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

describe('import cycles', () => {
  const dist = join(packageRoot(), 'dist');

  it('the walker finds a planted cycle and the imports of every form', () => {
    const g = new Map([
      ['/a.js', ['/b.js']],
      ['/b.js', ['/c.js']],
      ['/c.js', ['/a.js', '/d.js']],
      ['/d.js', []],
    ]);
    assert.deepEqual(findCycles(g), [['/a.js', '/b.js', '/c.js', '/a.js']]);
    const src = `import { x } from './a.js';\nexport * from "../b.js";\nimport './c.js';\nconst m = await import('./d.js');\nimport fs from 'node:fs';`;
    assert.deepEqual([...src.matchAll(IMPORT_RE)].map((m) => m[2]), ['./a.js', '../b.js', './c.js', './d.js']);
  });

  it('dist/lib and dist/scripts import no module that imports them back', () => {
    const graph = importGraph([join(dist, 'lib'), join(dist, 'scripts')]);
    assert.ok(graph.size > 50, `walked only ${graph.size} files under ${dist}`);
    const edges = [...graph.values()].reduce((n, l) => n + l.length, 0);
    assert.ok(edges > graph.size, `found only ${edges} imports in ${graph.size} files`);
    const cycles = findCycles(graph).map((c) => c.map((f) => relative(dist, f)).join(' -> '));
    assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
  });
});
