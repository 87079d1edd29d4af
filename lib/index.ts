/**
 * hpcnet: InfiniBand fabric queries, discovery and audits, and the simulated
 * fabrics they run on. LNet control lives in the `hpcnet/lnet` entry.
 */
export * from './errors.js';
export { packageVersion } from './util/paths.js';
export { nativeVersions, type NativeVersions } from './native/loader.js';

// InfiniBand: local CAs, the MAD port, typed attributes
export { listCas, caToJson } from './ib/cas.js';
export type { CaInfo, CaPort, NodeType, PortState, PhysPortState } from './ib/types.js';
export { openPort, Port, type OpenPortOptions, type QueryOptions, type MadRequest, type MadResponse, type PortStats } from './ib/port.js';
export { parseAddress, checkAddress, formatAddress, type Address } from './ib/address.js';
export type { NodeInfo, PortInfo, SwitchInfo, LinkWidth, LinkSpeed } from './ib/attributes.js';
export { ATTR, MGMT_CLASS, METHOD } from './ib/attributes.js';
export { decodeGroup, dumpGroup, type FieldGroupName, type FieldRecord } from './ib/fields.js';
export * from './ib/errors.js';
export { defaultIbBackend, setDefaultIbBackend, NativeIbBackend, type IbBackend, type MadTransport } from './ib/backend.js';
export { MockIbBackend, MockMadTransport, mockCa, buildReplyMad, type MockResponder, type MockAnswer } from './ib/mock-backend.js';

// Discovery, counters, SMs, the live audit source
export { discover, type DiscoverOptions, type DiscoveryProgress, type DiscoveryResult } from './ib/discovery/discover.js';
export { sweepCounters, readSubnetManagers } from './ib/discovery/sweep.js';
export { liveSource } from './ib/discovery/live.js';

// Every SMP, SA and PMA query (diag-tool parity), resolution helpers
export * as queries from './ib/queries/index.js';

// Topology model and formats, audit
export * as topology from './ib/topology/index.js';
export { toSlurmTopology, compressHostlist, type SlurmTopology, type SlurmTopologyOptions, type SlurmWarning } from './ib/topology/index.js';
export * as audit from './ib/audit/index.js';

// Simulated fabrics
export { IbSim, type IbSimOptions, type IbSimState, type ExecResult } from './sim/ibsim.js';
export { generateFatTree, defaultFabric, summarizeNetFile, type FatTreeOptions } from './sim/netfile.js';
