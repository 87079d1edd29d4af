#!/usr/bin/env node
/**
 * hpcnet command line. Global options handled before commander:
 *   --sim[=TOPOLOGY]  start a temporary simulated fabric, run the command
 *                     against it, stop it;
 *   --sim-name NAME   run the command against a running `hpcnet sim start`;
 *   --sim-host NODE   the node the command runs on (default: first CA).
 * The addon must live in a process started with LD_PRELOAD=libumad2sim, so
 * the CLI re-executes itself with the simulator's environment.
 */
import { constants as osConstants } from 'node:os';
import { Command, CommanderError } from 'commander';
import { nativeVersions } from '../native/loader.js';
import { IbSim } from '../sim/ibsim.js';
import { cliEntry, packageVersion } from '../util/paths.js';
import { registerIb } from './ib.js';
import { registerSim } from './sim.js';
import { registerLnet } from './lnet.js';
import { extractSimOptions, type SimRequest } from './sim-options.js';
import { EXIT_FAILED, fail } from './util.js';

async function runUnderSim(req: SimRequest, args: string[]): Promise<number> {
  // A temporary simulator is started as "persistent" so that its own signal
  // handling stays out of the way: this process forwards signals to the
  // command, waits for it to finish, and only then stops the simulator.
  const sim =
    req.mode === 'attach'
      ? IbSim.attach(req.name!)
      : await IbSim.start({ ...(req.topology ? { topology: req.topology } : {}), persistent: true });
  const lastResort = () => sim.killSync();
  if (req.mode === 'temp') process.on('exit', lastResort);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  let forward: ((sig: NodeJS.Signals) => void) | undefined;
  try {
    const child = sim.spawn(process.execPath, [cliEntry(), ...args], {
      ...(req.host ? { host: req.host } : {}),
      cwd: sim.callerCwd(),
      stdio: 'inherit',
    });
    forward = (sig: NodeJS.Signals) => void child.kill(sig);
    for (const sig of signals) process.on(sig, forward);
    return await new Promise<number>((res) =>
      child.on('close', (code, sig) => res(code ?? (sig ? 128 + (osConstants.signals[sig] ?? 0) : EXIT_FAILED))),
    );
  } finally {
    if (forward) for (const sig of signals) process.removeListener(sig, forward);
    if (req.mode === 'temp') {
      await sim.stop();
      process.removeListener('exit', lastResort);
    }
  }
}

function versionText(): string {
  const v = nativeVersions();
  const ib = 'unavailable' in v.ib ? `unavailable (${v.ib.unavailable})` : `libibumad ${v.ib.ibumad}, libibmad ${v.ib.ibmad}, N-API ${v.ib.napi}`;
  const lnet = 'unavailable' in v.lnet ? `unavailable (${v.lnet.unavailable})` : `libnl ${v.lnet.libnl}`;
  return `hpcnet ${packageVersion()}\nnode ${process.version}\nInfiniBand addon: ${ib}\nLNet addon: ${lnet}`;
}

export function buildProgram(): Command {
  const program = new Command('hpcnet')
    .description('InfiniBand fabric audits and Lustre LNet control')
    .version(versionText(), '-V, --version')
    .option('--sim[=TOPOLOGY]', 'run the command on a temporary simulated fabric (default: the bundled one)')
    .option('--sim-name <name>', 'run the command on a running simulator (hpcnet sim start)')
    .option('--sim-host <node>', 'with --sim/--sim-name: the node the command runs on')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerIb(program);
  registerSim(program);
  registerLnet(program);
  return program;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof extractSimOptions>;
  try {
    parsed = extractSimOptions(process.argv.slice(2));
  } catch (e) {
    fail(e);
  }
  if (parsed.sim && !process.env['HPCNET_SIM']) {
    try {
      process.exit(await runUnderSim(parsed.sim, parsed.rest));
    } catch (e) {
      fail(e);
    }
  }
  try {
    await buildProgram().parseAsync(parsed.rest, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT_FAILED);
    fail(e);
  }
}

await main();
