/**
 * Runs `hpcnet ib diff|audit|convert` through registerIbTopology on a bare
 * commander program (the way lib/cli/ib.ts registers them), so the CLI's
 * real exit codes can be tested independently of the rest of the CLI.
 * Usage: node cli-runner.js ib audit --snapshot FILE ...
 */
import { Command, CommanderError } from 'commander';
import { registerIbTopology } from '../../../../lib/cli/ib-topology.js';

const program = new Command('hpcnet').exitOverride();
registerIbTopology(program.command('ib').exitOverride());
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  throw e;
}
