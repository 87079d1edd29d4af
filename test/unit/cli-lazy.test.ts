/**
 * The CLI loads what the command needs: the lazy registration tables match
 * the modules, and a command's help or --version does not load the other
 * commands' modules (checked by tracing the modules the process loads).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { IB_MODULES } from '../../lib/cli/ib.js';
import { cliEntry, packageRoot } from '../../lib/util/paths.js';

/** The module URLs (relative to dist/ or a package name) a CLI run loads. */
function loadedBy(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'hpcnet-lazy-'));
  try {
    const out = join(dir, 'imports');
    execFileSync(process.execPath, ['--import', join(packageRoot(), 'dist', 'test', 'helpers', 'trace-imports.js'), cliEntry(), ...args], {
      env: { ...process.env, HPCNET_TRACE_IMPORTS: out, HPCNET_TRACE_IMPORTS_HOOKED: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((u) => u.replace(/^.*\/dist\//, '').replace(/^.*\/node_modules\/([^/]+)\/.*$/, '$1'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLI lazy loading', () => {
  it('each ib module registers exactly the subcommands its table entry names', async () => {
    for (const m of IB_MODULES) {
      const ib = new Command('ib');
      (await m.load())(ib);
      assert.deepEqual(ib.commands.map((c) => c.name()).sort(), [...m.commands].sort());
    }
  });

  it('ib discover --help loads neither the MAD layer, discovery, the writers, the exporter, the audit nor the LNet code', () => {
    const mods = loadedBy(['ib', 'discover', '--help']);
    assert.ok(mods.includes('lib/cli/ib-discover.js'), mods.join('\n'));
    // Nor the MAD layer, discovery or the topology writers: they load when the command runs.
    for (const m of mods) {
      assert.doesNotMatch(m, /^(prom-client|yaml|bindings)$|lib\/(ib\/exporter|ib\/audit|lnet|sim|ib\/queries|ib\/discovery)\/|lib\/cli\/(lnet|sim|ib-topology|ib-exporter|ib-tools)\.js|lib\/ib\/(port|backend)\.js|lib\/ib\/topology\/index\.js/);
    }
  });

  it('--version loads no command module', () => {
    const mods = loadedBy(['--version']);
    for (const m of mods) assert.doesNotMatch(m, /lib\/cli\/(ib-[a-z]+|ib|sim|sim-lnet|lnet)\.js|lib\/(ib|lnet|sim)\/|^(prom-client|yaml)$/);
  });

  it('help and unknown commands still see every command', () => {
    const help = execFileSync(process.execPath, [cliEntry(), '--help'], { encoding: 'utf8' });
    for (const c of ['ib', 'sim', 'lnet', 'lctl']) assert.match(help, new RegExp(`^  ${c} `, 'm'));
    const ibHelp = execFileSync(process.execPath, [cliEntry(), 'ib', '--help'], { encoding: 'utf8' });
    for (const c of IB_MODULES.flatMap((m) => m.commands).concat('cas')) assert.match(ibHelp, new RegExp(`^  ${c} `, 'm'));
  });
});
