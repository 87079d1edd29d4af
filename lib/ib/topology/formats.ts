/** The topology formats (a module of its own, so that commands can list them without loading the writers). */
export type FabricFormat = 'json' | 'ibnetdiscover' | 'links' | 'dot' | 'slurm';
export const FABRIC_FORMATS: readonly FabricFormat[] = ['json', 'ibnetdiscover', 'links', 'dot', 'slurm'];
