/** Runs the hpcnet CLI as a program on an emulated host (shared by the LNet end-to-end tests). */
import assert from 'node:assert/strict';
import type { LnetEmulator } from '../../../lib/sim/lnet/index.js';
import { cliEntry } from '../../../lib/util/paths.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliRunner(emu: () => LnetEmulator): { cli: (host: string, ...args: string[]) => Promise<Run>; ok: (host: string, ...args: string[]) => Promise<string> } {
  const cli = async (host: string, ...args: string[]): Promise<Run> => {
    const r = await emu().exec(host, process.execPath, [cliEntry(), ...args], { timeoutMs: 60_000 });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = async (host: string, ...args: string[]): Promise<string> => {
    const r = await cli(host, ...args);
    assert.equal(r.code, 0, `hpcnet ${args.join(' ')} on ${host}: exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };
  return { cli, ok };
}
