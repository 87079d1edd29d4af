/** `hpcnet sim ...`: simulated fabrics for development and tests. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { IbSim } from '../sim/ibsim.js';
import { generateFatTree, SPEEDS, WIDTHS, type FatTreeOptions, type Speed, type Width } from '../sim/netfile.js';
import { registerSimLnet } from './sim-lnet.js';
import { action, parseIntOption, printJson } from './util.js';

function parseDegrade(v: string, prev: FatTreeOptions['degraded'] = []): NonNullable<FatTreeOptions['degraded']> {
  const [h, w, s] = v.split(':');
  const host = Number(h);
  if (!Number.isInteger(host) || host < 1) throw new InvalidArgumentError(`--degrade: expected HOST[:WIDTH[:SPEED]], got '${v}'`);
  if (w && !WIDTHS.includes(w as Width)) throw new InvalidArgumentError(`--degrade ${v}: width must be one of ${WIDTHS.join(', ')}`);
  if (s && !SPEEDS.includes(s as Speed)) throw new InvalidArgumentError(`--degrade ${v}: speed must be one of ${SPEEDS.join(', ')}`);
  const d: NonNullable<FatTreeOptions['degraded']>[number] = { host };
  if (w) d.width = w as Width;
  if (s) d.speed = s as Speed;
  return [...prev, d];
}

export function registerSim(program: Command): void {
  const sim = program.command('sim').description('simulated InfiniBand fabrics (ibsim + OpenSM)');
  registerSimLnet(sim);

  sim
    .command('start')
    .description('start a simulated fabric that keeps running until `hpcnet sim stop`')
    .argument('[topology]', 'ibsim net file (default: the bundled fat tree)')
    .option('--name <name>', 'simulator name', 'default')
    .option('--no-sm', 'do not start OpenSM (only directed-route SMPs work then)')
    .option('--sm-args <args>', 'extra OpenSM arguments, space-separated')
    .option('--timeout <ms>', 'readiness timeout', parseIntOption('--timeout'), 60000)
    .action(
      action(async (topology: string | undefined, o: { name: string; sm: boolean; smArgs?: string; timeout: number }) => {
        const s = await IbSim.start({
          ...(topology ? { topology } : {}),
          name: o.name,
          sm: o.sm,
          smArgs: o.smArgs ? o.smArgs.split(/\s+/).filter(Boolean) : [],
          readyTimeoutMs: o.timeout,
          persistent: true,
        });
        process.stdout.write(
          `simulator '${s.name}' ready: ${s.summary.cas} CAs, ${s.summary.switches} switches${o.sm ? ', OpenSM master' : ''}\n` +
            `  run hpcnet against it:  hpcnet --sim-name ${s.name} ib cas\n` +
            `  run any tool on it:     hpcnet sim exec --name ${s.name} -- ibnetdiscover\n`,
        );
      }),
    );

  sim
    .command('stop')
    .description('stop a simulated fabric and remove its files')
    .option('--name <name>', 'simulator name', 'default')
    .option('--all', 'stop every running simulator')
    .action(
      action(async (o: { name: string; all?: boolean }) => {
        const names = o.all ? IbSim.list().map((s) => s.name) : [o.name];
        for (const n of names) {
          await IbSim.attach(n).stop();
          process.stdout.write(`simulator '${n}' stopped\n`);
        }
      }),
    );

  sim
    .command('status')
    .description('list running simulated fabrics')
    .option('--json', 'JSON output')
    .action(
      action((o: { json?: boolean }) => {
        const list = IbSim.list();
        if (o.json) return printJson(list);
        if (list.length === 0) return void process.stdout.write('no simulator running\n');
        for (const s of list) {
          process.stdout.write(
            `${s.name}: ibsim pid ${s.pids.ibsim}` +
              (s.pids.opensm ? `, opensm pid ${s.pids.opensm}` : '') +
              `, topology ${s.topology}, socket ${s.sockName}, since ${s.startedAt}\n`,
          );
        }
      }),
    );

  sim
    .command('exec')
    .description('run any program as a client of a running simulated fabric (e.g. smpquery, ibnetdiscover)')
    .option('--name <name>', 'simulator name', 'default')
    .option('--host <node>', 'node the client attaches to (node ID or description)')
    .argument('<command...>', 'program and arguments (put them after --)')
    .action(
      action(async (command: string[], o: { name: string; host?: string }) => {
        const s = IbSim.attach(o.name);
        const child = s.spawn(command[0]!, command.slice(1), { ...(o.host ? { host: o.host } : {}), cwd: s.callerCwd(), stdio: 'inherit' });
        const code = await new Promise<number>((res) => child.on('close', (c, sig) => res(c ?? (sig ? 128 : 1))));
        process.exit(code);
      }),
    );

  sim
    .command('console')
    .description("send a console command to ibsim (Error, PerformanceSet, Guid, Unlink, ReLink, ...)")
    .option('--name <name>', 'simulator name', 'default')
    .argument('<words...>', 'the command')
    .action(
      action(async (words: string[], o: { name: string }) => {
        const out = await IbSim.attach(o.name).console(words.join(' '));
        if (out) process.stdout.write(out + '\n');
      }),
    );

  const gen = sim.command('gen').description('generate ibsim net files');
  gen
    .command('fat-tree')
    .description('leaf/spine fat tree (two levels, three with --cores)')
    .requiredOption('--leaves <n>', 'leaf switches', parseIntOption('--leaves'))
    .requiredOption('--spines <n>', 'spine switches', parseIntOption('--spines'))
    .requiredOption('--hosts-per-leaf <n>', 'hosts under each leaf', parseIntOption('--hosts-per-leaf'))
    .option('--links-per-spine <n>', 'parallel links per leaf-spine pair', parseIntOption('--links-per-spine'), 1)
    .option('--speed <speed>', `link speed (${SPEEDS.join(', ')})`, 'EDR')
    .option('--width <width>', `link width (${WIDTHS.join(', ')})`, '4x')
    .option('--degrade <host[:width[:speed]]>', 'degrade one host link (repeatable), e.g. 7:1x or 7:4x:SDR', parseDegrade)
    .option('--cores <n>', 'third level: core switches above every spine', parseIntOption('--cores'))
    .option('--pods <n>', 'with --cores: leaves and spines split into pods', parseIntOption('--pods'))
    .option('--dual-rail <kind>', "second rail of each host on the next leaf: 'port' (2-port HCA) or 'hca' (second HCA)")
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(
      action(
        (o: {
          leaves: number;
          spines: number;
          hostsPerLeaf: number;
          linksPerSpine: number;
          speed: string;
          width: string;
          degrade?: FatTreeOptions['degraded'];
          cores?: number;
          pods?: number;
          dualRail?: string;
          output?: string;
        }) => {
          const text = generateFatTree({
            leaves: o.leaves,
            spines: o.spines,
            hostsPerLeaf: o.hostsPerLeaf,
            linksPerSpine: o.linksPerSpine,
            speed: o.speed as Speed,
            width: o.width.toLowerCase() as Width,
            ...(o.degrade ? { degraded: o.degrade } : {}),
            ...(o.cores !== undefined ? { cores: o.cores } : {}),
            ...(o.pods !== undefined ? { pods: o.pods } : {}),
            ...(o.dualRail !== undefined ? { dualRail: o.dualRail as FatTreeOptions['dualRail'] } : {}),
          });
          if (o.output) writeFileSync(o.output, text);
          else process.stdout.write(text);
        },
      ),
    );
}
