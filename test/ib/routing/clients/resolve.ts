/**
 * Run under the simulator: the resolver's answers, live and from a saved
 * fabric, for the routing test to compare with each other and with
 * infiniband-diags. argv[2]: JSON { snapshot, lids, guids, descriptions }.
 * Prints JSON: per LID the directed route (Port.routeToLid) or the error;
 * per GUID and description what the SA Resolver and the fabric Resolver
 * answer (or their error codes), and how many SA queries each sent.
 */
import { openPort } from '../../../../lib/ib/port.js';
import { Resolver } from '../../../../lib/ib/queries/resolve.js';
import { loadFabricFile } from '../../../../lib/ib/topology/index.js';
import { toJsonValue } from '../../../../lib/util/json.js';

const job = JSON.parse(process.argv[2]!) as { snapshot: string; lids: number[]; guids: string[]; descriptions: string[] };
await using port = await openPort();
const { fabric } = loadFabricFile(job.snapshot);
const sa = new Resolver(port);
const model = new Resolver(undefined, { fabric });
const settle = async <T>(p: Promise<T>) => p.then((v) => ({ ok: v }), (e: { code?: string; message: string }) => ({ error: e.code ?? 'ERR', message: e.message }));
const out = {
  routes: await Promise.all(job.lids.map((lid) => settle(port.routeToLid(lid)))),
  guids: await Promise.all(job.guids.map(async (g) => ({ sa: await settle(sa.resolveGuid(BigInt(g))), fabric: await settle(model.resolveGuid(BigInt(g))) }))),
  descriptions: await Promise.all(job.descriptions.map(async (d) => ({ sa: await settle(sa.nodeDescriptionToLids(d)), fabric: await settle(model.nodeDescriptionToLids(d)) }))),
  saQueries: { sa: sa.saQueries, fabric: model.saQueries },
};
process.stdout.write(JSON.stringify(toJsonValue(out)) + '\n');
