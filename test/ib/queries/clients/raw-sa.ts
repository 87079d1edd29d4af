/**
 * Run under the simulator: one SA NodeRecord GetTable per LID (argv[2]: JSON
 * list of LIDs), filtered by LID so every reply fits one MAD; prints the
 * reply MADs as hex (recorded replies for the multi-record parser test).
 */
import { openPort } from '../../../../lib/ib/port.js';

const lids = JSON.parse(process.argv[2]!) as number[];
await using port = await openPort();
const out: string[] = [];
for (const lid of lids) {
  const data = Buffer.alloc(200);
  data.writeUInt16BE(lid, 0); // NodeRecord.LID
  const r = await port.mad({ mgmtClass: 0x03, method: 0x12, attrId: 0x11, addr: { lid: port.smLid }, data, componentMask: 1n });
  if (r.status !== 0) throw new Error(`LID ${lid}: SA status 0x${r.status.toString(16)}`);
  out.push(r.mad.toString('hex'));
}
process.stdout.write(JSON.stringify(out) + '\n');
