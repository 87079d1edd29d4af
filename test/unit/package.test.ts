/**
 * The package installs: `npm pack` of a clean checkout (the files git tracks,
 * no dist/) ships the compiled JavaScript (prepack builds it), and the tarball
 * installed into an empty folder (offline, with the dependencies the project's
 * lockfile pins, from npm's cache) builds its addons and runs `hpcnet
 * --version`; every import the READMEs document resolves there and has the
 * names they import.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../lib/util/paths.js';
import { tempDir } from '../helpers/tmp.js';

interface LockEntry {
  dev?: boolean;
  [k: string]: unknown;
}

/** `import { a, b as c } from 'hpcnet...'` in the READMEs: specifier and imported names. */
function documentedImports(root: string, files: string[]): Array<{ file: string; spec: string; names: string[] }> {
  const out: Array<{ file: string; spec: string; names: string[] }> = [];
  for (const f of files.filter((x) => x.endsWith('README.md'))) {
    for (const m of readFileSync(join(root, f), 'utf8').matchAll(/import\s*\{([^}]*)\}\s*from\s*'(hpcnet[^']*)'/g)) {
      out.push({ file: f, spec: m[2]!, names: m[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/)[0]!).filter(Boolean) });
    }
  }
  return out;
}

describe('the npm package', () => {
  it('packs from a clean checkout, installs offline into an empty folder and runs; documented imports resolve', { timeout: 900_000 }, () => {
    const root = packageRoot();
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string>; license: string; os?: string[] };
    const work = tempDir('hpcnet-pack-');
    const env = { ...process.env, TMPDIR: join(work, 'tmp'), npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };
    mkdirSync(env.TMPDIR);

    // A clean checkout: the tracked files only (no dist/, no build/), with this checkout's node_modules.
    const src = join(work, 'src');
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of tracked) {
      mkdirSync(dirname(join(src, f)), { recursive: true });
      copyFileSync(join(root, f), join(src, f));
    }
    symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'));
    const pack = spawnSync('npm', ['pack', '--pack-destination', work], { cwd: src, env, encoding: 'utf8', timeout: 600_000 });
    assert.equal(pack.status, 0, pack.stderr);
    const tgzName = pack.stdout.trim().split('\n').at(-1)!;
    const tgz = join(work, tgzName);
    const listed = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n');
    for (const f of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cli/main.js', 'dist/lib/lnet/index.js', 'binding.gyp', 'scripts/install-native.mjs', 'lib/sim/fabrics/default.net']) {
      assert.ok(listed.includes(`package/${f}`), `${f} is in the tarball`);
    }
    assert.ok(!listed.some((f) => f.startsWith('package/dist/test/') || f.startsWith('package/test/')), 'no tests in the tarball');

    // An empty project that depends on the tarball; its lockfile pins hpcnet's own dependencies (npm ci, offline).
    const inst = join(work, 'inst');
    mkdirSync(inst);
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const dep = `file:../${tgzName}`;
    const packages: Record<string, unknown> = {
      '': { name: 'hpcnet-install-check', dependencies: { hpcnet: dep } },
      'node_modules/hpcnet': {
        version: pkg.version,
        resolved: dep,
        integrity: 'sha512-' + createHash('sha512').update(readFileSync(tgz)).digest('base64'),
        hasInstallScript: true,
        license: pkg.license,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
        ...(pkg.os ? { os: pkg.os } : {}),
      },
    };
    for (const [k, v] of Object.entries(lock.packages)) if (k !== '' && !v.dev) packages[k] = v;
    writeFileSync(join(inst, 'package.json'), JSON.stringify({ name: 'hpcnet-install-check', private: true, dependencies: { hpcnet: dep } }, null, 2));
    writeFileSync(join(inst, 'package-lock.json'), JSON.stringify({ name: 'hpcnet-install-check', lockfileVersion: 3, requires: true, packages }, null, 2));
    const install = spawnSync('npm', ['ci', '--offline'], { cwd: inst, env, encoding: 'utf8', timeout: 600_000 });
    assert.equal(install.status, 0, install.stdout + install.stderr);
    assert.ok(readdirSync(join(inst, 'node_modules', 'hpcnet', 'build', 'Release')).includes('hpcnet_ib.node'), 'the install step built the addons');

    const version = spawnSync(join(inst, 'node_modules', '.bin', 'hpcnet'), ['--version'], { cwd: inst, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, new RegExp(`^hpcnet ${pkg.version.replace(/\./g, '\\.')}\\n`));

    const docs = documentedImports(root, tracked);
    assert.ok(docs.length >= 5, `found ${docs.length} documented imports`);
    const script = `
      const docs = ${JSON.stringify(docs)};
      const bad = [];
      for (const d of docs) {
        try {
          const m = await import(d.spec);
          for (const n of d.names) if (!(n in m)) bad.push(d.file + ': ' + d.spec + ' has no export ' + n);
        } catch (e) { bad.push(d.file + ': ' + d.spec + ': ' + e.message); }
      }
      console.log(JSON.stringify(bad));`;
    const imp = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: inst, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(imp.status, 0, imp.stderr);
    assert.deepEqual(JSON.parse(imp.stdout) as string[], [], 'documented imports that do not resolve in the installed package');
  });
});
