/**
 * Run under the simulator: writes one MulticastForwardingTable block (raw SMP
 * Set through Port.mad) so the MFT readers have entries to compare with
 * ibroute -M. argv[2]: JSON { lid, block, masks: { "<index>": mask } }.
 */
import { openPort } from '../../../../lib/ib/port.js';

const job = JSON.parse(process.argv[2]!) as { lid: number; block: number; masks: Record<string, number> };
await using port = await openPort({ allowWrites: true });
const data = Buffer.alloc(64);
for (const [i, m] of Object.entries(job.masks)) data.writeUInt16BE(m, Number(i) * 2);
const r = await port.mad({ mgmtClass: 0x01, method: 0x02, attrId: 0x1b, attrMod: job.block, addr: { lid: job.lid }, data });
if (r.status !== 0) throw new Error(`MFT Set: status 0x${r.status.toString(16)}`);
process.stdout.write('ok\n');
