/**
 * `hpcnet/lnet`: LNet control for Node.js. The LNet facade over a backend
 * (native kernel layer, or the mock: the emulator's kernel model in-process), NID and module-parameter
 * parsers, lnetctl-compatible YAML output and lnet.conf import/apply.
 */
export { LNet, lustreModules } from './facade.js';
export type { LnetStatus, NetAddOptions } from './facade.js';
export { LnetPlanner, type ImportOptions, type ImportResult, type ApplyResult, type LnetPlan, type PlannerHost } from './planner.js';
export { UnloadPolicy, type UnloadOptions, type UnloadResult, type UnloadHost } from './unload.js';
export type { LnetBackend } from './backend.js';
export { MockLnetBackend } from './mock-backend.js';
export { checkFaultSpec, type FaultKind, type FaultRule, type FaultRuleSpec, type HealthEntry, type UdspRule, type UdspRuleSpec } from './features.js';
export { parseUdspDescr, udspDescrText } from './udsp.js';
export type { MockLnetOptions, MockInterface, MockRemote, MockCall } from './mock-backend.js';
export { defaultLnetBackend, setDefaultLnetBackend, openLnet } from './default-backend.js';
export { NetId, Nid, LND, lndModule, toNid, sameNid, normalizeNid, normalizeNet, parseProcessId, formatProcessId, parseNidRange, expandNidRange, nidInRange } from './nid.js';
export type { ProcessId, NidRange, RangeExpr } from './nid.js';
export { parseNetworks, effectiveNetworks, formatNetworks, parseIp2nets, ip2netsToNetworks, parseRoutes } from './params.js';
export type { NetworkSpec, NetworkInterfaceSpec, Ip2NetsRule, RouteParamEntry } from './params.js';
export { parseLnetConfig } from './config.js';
export type { LnetConfig, ConfigNet, ConfigNi, ConfigRoute, ConfigPeer } from './config.js';
export { emit, netsDoc, routesDoc, routingDoc, peersDoc, peerListDoc, pingDoc, statsDoc, globalDoc, errorDoc, showStyle } from './format.js';
export type { YamlStyle, YNode } from './format.js';
export { GLOBAL_DEFS, planGlobalWrites } from './globals.js';
export type { Change, FailedChange } from './transaction.js';
export { LnetError, LnetKernelError, kernelError, LnetRefusedError, LnetSyntaxError, LnetConfigError, errnoName, errnoOf, strerror } from './errors.js';
export type { ConfigProblem } from './errors.js';
export * from './types.js';
