import type {Flow} from './flow.js'

/**
 * Called once for every flow this process allocates, accepts or joins, so the process can publish
 * its flows' statistics for `ouro watch`. A process nobody watches pays nothing.
 */
export function publishFlow(_flow: Flow): void {}
