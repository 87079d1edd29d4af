/**
 * Process plumbing shared by the simulators (ibsim + OpenSM, the LNet
 * emulator): liveness checks that treat zombies as dead, bounded waits, log
 * tails for error messages, process-group kills, and cleanup of temporary
 * simulators at exit and on SIGINT/SIGTERM/SIGHUP.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { SimulatorError } from '../errors.js';

/** Is the process running? A zombie (exited, not yet reaped) counts as gone. */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `pred` with backoff until it holds; throws SimulatorError(what()) after timeoutMs. */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  while (!pred()) {
    if (Date.now() > deadline) throw new SimulatorError(what());
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}

/** The last lines of a log file, for error messages. */
export function tail(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** Signal a process started detached (it leads its own group), or the process alone. Returns false when gone. */
export function killGroup(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }
}

/** Something to end synchronously when the process exits or is signalled. */
export interface Temporary {
  killSync(): void;
}

const temporaries = new Set<Temporary>();
let hooksInstalled = false;

/** End `t` at process exit and on SIGINT/SIGTERM/SIGHUP (the signal is re-raised unless the application handles it). */
export function registerTemporary(t: Temporary): void {
  temporaries.add(t);
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const x of temporaries) x.killSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      for (const x of temporaries) x.killSync();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, handler);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, handler);
  }
}

export function unregisterTemporary(t: Temporary): void {
  temporaries.delete(t);
}

/** What a program run on a simulator did (both simulators' exec()). */
export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}
export type CollectedRun = ExecResult;

/** How a program runs on a simulator (both simulators' exec()). */
export interface ExecOptions {
  /** Kill the program after this long (default 120 s); 0 disables. */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
}

/**
 * Feed `input` to a child started with piped stdio, collect its output, and
 * kill it after `timeoutMs` (0: no limit). Rejects only when it cannot start.
 */
export function collect(child: ChildProcess, what: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<CollectedRun> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const ms = opts.timeoutMs ?? 120_000;
    const timer = ms > 0 ? setTimeout(() => child.kill('SIGKILL'), ms) : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new SimulatorError(`cannot run ${what}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin!.on('error', () => undefined); // a program that exits without reading its input
    child.stdin!.end(opts.input ?? '');
  });
}

/** A simulator's state file, or undefined when it is missing or unreadable (a stale or half-written folder). */
export function readState<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
