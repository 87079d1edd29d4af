/** LNet kernel emulator (`hpcnet sim lnet`): library API. See README.md in this folder. */
export { LnetEmulator, parseHostSpec, preloadPath, DEFAULT_HOST } from './emulator.js';
export type { LnetEmulatorOptions, LnetEmuState, EmuStatus, ExecResult, ExecOptions, FaultOp, HostSpec, IfaceSpec, LustreHold, Release, HostStatus, WorldSpec } from './emulator.js';
export type { RemoteSpec } from './world.js';
