/**
 * The Ansible path: ansible-core (Debian) runs the hpcnet_lnet module
 * (lib/lnet/ansible) against localhost, on a host of the LNet emulator (the
 * playbook runs under the emulator, so the module's `hpcnet lnet apply`
 * reaches the emulated kernel). Check mode, a change, an idempotent second
 * run, and a refused document.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { cliEntry, packageRoot } from '../../../lib/util/paths.js';

interface TaskResult {
  changed: boolean;
  failed?: boolean;
  msg: string;
  diff?: { before: string; after: string };
  changes?: { op: string; item: string }[];
  problems?: { line: number; key: string }[];
  /** What ansible-playbook printed (with --diff: the diff). */
  shown?: string;
}

const SITE = [
  'net:',
  '    - net type: tcp',
  '      local NI(s):',
  '        - interfaces:',
  '              0: eth0',
  '    - net type: o2ib',
  '      local NI(s):',
  '        - interfaces:',
  '              0: ib0',
  'route:',
  '    - net: tcp1',
  '      gateway: 10.0.0.2@tcp',
  'global:',
  '    retry_count: 3',
  '',
].join('\n');

describe('Ansible: hpcnet_lnet module against localhost on the emulator', () => {
  let emu: LnetEmulator;
  let dir: string;
  let env: Record<string, string>;

  const cli = async (...args: string[]): Promise<string> => {
    const r = await emu.exec('n1', process.execPath, [cliEntry(), ...args], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `hpcnet ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  /** Run a one-task playbook; returns the task's result as Ansible reports it. */
  const play = async (args: Record<string, string>, flags: string[] = []): Promise<TaskResult> => {
    const pb = join(dir, `play-${Math.random().toString(36).slice(2)}.yml`);
    const params = Object.entries(args)
      .map(([k, v]) => `        ${k}: ${JSON.stringify(v)}`)
      .join('\n');
    writeFileSync(pb, `- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: LNet matches the site document\n      hpcnet_lnet:\n${params}\n`);
    const r = await emu.exec('n1', 'ansible-playbook', ['-i', 'localhost,', '-c', 'local', ...flags, pb], { env, timeoutMs: 120_000 });
    // The minimal callback prints "localhost | CHANGED => {json}" (or SUCCESS / FAILED!) per task.
    const m = /^localhost \| (CHANGED|SUCCESS|FAILED!) => (\{[\s\S]*?^\})$/m.exec(r.stdout);
    if (!m) throw new Error(`ansible-playbook exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    const res = JSON.parse(m[2]!) as TaskResult;
    // The callback prints the diff itself (before the result) and keeps the status out of the JSON.
    res.failed = m[1] === 'FAILED!';
    res.shown = r.stdout;
    return res;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hpcnet-ansible-'));
    mkdirSync(join(dir, 'tmp'));
    env = {
      ANSIBLE_LIBRARY: join(packageRoot(), 'lib', 'lnet', 'ansible'),
      ANSIBLE_STDOUT_CALLBACK: 'minimal',
      ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
      ANSIBLE_REMOTE_TEMP: join(dir, 'tmp'),
      ANSIBLE_HOME: join(dir, 'home'),
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_DEPRECATION_WARNINGS: '0',
    };
    emu = await LnetEmulator.start({ release: '2.16', hosts: ['n1=eth0:10.0.0.1,ib0:10.1.0.1'] });
    await cli('lnet', 'load');
    await cli('lnet', 'configure');
  });
  after(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('check mode reports the change and applies nothing; a run applies it; a second run changes nothing', async () => {
    const src = join(dir, 'site.yaml');
    writeFileSync(src, SITE);
    const before = await cli('lnet', 'export', '--backup');
    const check = await play({ src, hpcnet: cliEntry() }, ['--check', '--diff']);
    assert.equal(check.changed, true, check.msg);
    assert.match(check.shown!, /^\+net o2ib NI ib0$/m, 'the diff Ansible shows');
    assert.ok(check.changes!.some((c) => c.op === 'add' && c.item === 'net o2ib NI ib0'));
    assert.equal(await cli('lnet', 'export', '--backup'), before, 'check mode applied nothing');

    const run = await play({ src, hpcnet: cliEntry() });
    assert.equal(run.changed, true, run.msg);
    assert.ok(!run.failed);
    assert.equal(await cli('lnet', 'list-nids'), '10.0.0.1@tcp\n10.1.0.1@o2ib\n');

    const again = await play({ src, hpcnet: cliEntry() });
    assert.equal(again.changed, false);
    assert.equal(again.msg, 'no change: the node matches the document');
  });

  it('a document with a bad item fails the task, names the line and key, applies nothing', async () => {
    const before = await cli('lnet', 'export', '--backup');
    const r = await play({ content: SITE.replace('retry_count: 3', 'retry_count: 3\n    response_tracking: 10'), hpcnet: cliEntry() });
    assert.equal(r.failed, true);
    assert.equal(r.changed, false);
    assert.deepEqual(r.problems!.map((p) => [p.line, p.key]), [[15, 'global.response_tracking']]);
    assert.equal(await cli('lnet', 'export', '--backup'), before);
  });
});
