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
import type { Command } from 'commander';
import { cliEntry, packageVersion } from '../util/paths.js';
import { extractSimOptions, type SimRequest } from './sim-options.js';
import { EXIT_FAILED, fail } from './util.js';

/**
 * The command groups and the top-level commands each registers. Only the
 * group of the command being run is loaded (start-up costs what the command
 * needs, not every command's modules); help and unknown commands load all.
 */
const GROUPS: Array<{ commands: string[]; load: () => Promise<(program: Command, argv: string[]) => void | Promise<void>> }> = [
  { commands: ['ib'], load: async () => (await import('./ib.js')).registerIb },
  { commands: ['sim'], load: async () => (await import('./sim.js')).registerSim },
  { commands: ['lnet', 'lctl'], load: async () => (await import('./lnet.js')).registerLnet },
];

async function runUnderSim(req: SimRequest, args: string[]): Promise<number> {
  // A temporary simulator is started as "persistent" so that its own signal
  // handling stays out of the way: this process forwards signals to the
  // command, waits for it to finish, and only then stops the simulator.
  const { IbSim } = await import('../sim/ibsim.js');
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

async function versionText(): Promise<string> {
  const v = (await import('../native/loader.js')).nativeVersions();
  const ib = 'unavailable' in v.ib ? `unavailable (${v.ib.unavailable})` : `libibumad ${v.ib.ibumad}, libibmad ${v.ib.ibmad}, N-API ${v.ib.napi}`;
  const lnet = 'unavailable' in v.lnet ? `unavailable (${v.lnet.unavailable})` : `libnl ${v.lnet.libnl}`;
  return `hpcnet ${packageVersion()}\nnode ${process.version}\nInfiniBand addon: ${ib}\nLNet addon: ${lnet}`;
}

/** The first word of the command line that is not an option: the command group asked for. */
export function commandWord(args: string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

/**
 * The program with the command groups `args` need: the group named, none for
 * a bare --version, all of them otherwise (help, unknown commands).
 */
export async function buildProgram(args: string[]): Promise<Command> {
  const word = commandWord(args);
  const wantsVersion = args.includes('-V') || args.includes('--version');
  const { Command } = await import('commander');
  const program = new Command('hpcnet')
    .description('InfiniBand fabric audits and Lustre LNet control')
    .version(wantsVersion ? await versionText() : packageVersion(), '-V, --version')
    .option('--sim[=TOPOLOGY]', 'run the command on a temporary simulated fabric (default: the bundled one)')
    .option('--sim-name <name>', 'run the command on a running simulator (hpcnet sim start)')
    .option('--sim-host <node>', 'with --sim/--sim-name: the node the command runs on')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const named = GROUPS.find((g) => word !== undefined && g.commands.includes(word));
  const groups = named ? [named] : word === undefined && wantsVersion ? [] : GROUPS;
  const rest = named ? args.slice(args.indexOf(word!) + 1) : [];
  for (const register of await Promise.all(groups.map((g) => g.load()))) await register(program, rest);
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
  // A bare --version needs neither the command parser nor any command.
  if (parsed.rest.length === 1 && (parsed.rest[0] === '--version' || parsed.rest[0] === '-V')) {
    process.stdout.write((await versionText()) + '\n');
    return;
  }
  try {
    await (await buildProgram(parsed.rest)).parseAsync(parsed.rest, { from: 'user' });
  } catch (e) {
    if (e instanceof (await import('commander')).CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT_FAILED);
    fail(e);
  }
}

await main();
