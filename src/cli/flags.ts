import {Flags} from '@oclif/core'
import {OuroError, parseQoS, type QoSSpec} from '../core/index.js'

/** --qos: the QoS grammar (presets and key=value), parsed at flag time so bad input fails before anything opens. */
export const qosFlag = Flags.custom<QoSSpec>({
  char: 'q',
  description: 'QoS: a preset (raw, best, video, voice, data) and/or key=value items, e.g. data,cypher=256 (see `ouro qos`)',
  helpValue: 'SPEC',
  parse: async (input) => parseQoS(input),
})

/** --timeout in seconds (fractions allowed). */
export const timeoutFlag = Flags.custom<number>({
  description: 'seconds to wait for the flow (fractions allowed)',
  helpValue: 'SECONDS',
  parse: async (input) => {
    const n = Number(input)
    if (input.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new OuroError('EINVAL', `--timeout must be a number of seconds > 0, got "${input}"`)
    }
    return n
  },
})

/** --link: link emulation for the embedded backend (sets OURO_LINK for this process). */
export const linkFlag = Flags.string({
  description: 'embedded backend link emulation: loss=P%,delay=Dms,jitter=Jms,reorder=R%,dup=U%,rate=N(k|M)',
  helpValue: 'SPEC',
})

/** Parses a duration in ms: a bare number is ms; units ms and s. */
export function parseMs(input: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(input.trim())
  if (!m) throw new OuroError('EINVAL', `${what} must be a duration like 500, 500ms or 1.5s, got "${input}"`)
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1)
}

/** --layer: on native, the layers a server registers its name in (repeatable; default every layer). */
export const layerFlag = Flags.string({
  description: 'native: register the served name in this layer (repeatable; default: every layer, or OURO_LAYERS)',
  multiple: true,
  helpValue: 'LAYER',
})

/** --lab: which lab (`ouro lab`); several can run side by side. */
export const labFlag = Flags.string({
  description: 'which lab: labs are named, and several can run side by side',
  env: 'OURO_LAB',
  default: 'lab',
  helpValue: 'NAME',
})
