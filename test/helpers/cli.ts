/** Run the compiled CLI as a child process. */
import { execFile } from 'node:child_process';
import { cliEntry } from '../../lib/util/paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliEntry(), ...args],
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20, ...(opts.cwd ? { cwd: opts.cwd } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - t0 });
      },
    );
  });
}

/** Parse `Key: value` lines of ibstat output into a list of sections (CA, then one per port). */
export function parseIbstat(text: string): { ca: Record<string, string>; ports: Record<string, string>[] } {
  const ca: Record<string, string> = {};
  const ports: Record<string, string>[] = [];
  let cur = ca;
  for (const line of text.split('\n')) {
    const t = line.trim();
    let m = /^CA '(.+)'$/.exec(t);
    if (m) {
      ca['name'] = m[1]!;
      continue;
    }
    m = /^Port (\d+):$/.exec(t);
    if (m) {
      cur = { port: m[1]! };
      ports.push(cur);
      continue;
    }
    m = /^([^:]+):\s*(.*)$/.exec(t);
    if (m) cur[m[1]!] = m[2]!;
  }
  return { ca, ports };
}
