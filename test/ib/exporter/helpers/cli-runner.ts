/**
 * Runs `hpcnet ib exporter` through registerIbExporter on a bare commander
 * program (the way lib/cli/ib.ts registers it), so the command's real
 * behaviour (listening, signals, exit codes) is tested on its own.
 * Usage: node cli-runner.js ib exporter --snapshot FILE ...
 */
import { Command, CommanderError } from 'commander';
import { registerIbExporter } from '../../../../lib/cli/ib-exporter.js';

const program = new Command('hpcnet').exitOverride();
registerIbExporter(program.command('ib').exitOverride());
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  throw e;
}
