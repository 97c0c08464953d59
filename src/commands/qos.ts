import {Args} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {PRESET_NAMES, QOS_KEYS, QoS, parseQoS, type QoSSpec} from '../core/index.js'
import {formatQoSTable, formatSpec} from '../output/qos.js'

export default class Qos extends OuroCommand {
  static override summary = 'List the QoS presets and fields, or show what a --qos SPEC gives'
  static override description =
    'SPEC is ITEM[,ITEM...]: a preset (raw, best, video, voice, data) and key=value items that override it, ' +
    'left to right. loss=0 asks for a reliable flow and implies in_order=1.'

  static override examples = ['<%= config.bin %> qos', '<%= config.bin %> qos data,cypher=256', '<%= config.bin %> qos voice,delay=20ms --json']
  static override enableJsonFlag = true

  static override args = {
    spec: Args.string({description: 'a --qos value to check and expand', ignoreStdin: true}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Qos)
    if (args.spec !== undefined) {
      const spec = parseQoS(args.spec)
      if (!flags.json) this.log(formatSpec(spec))
      return {spec: spec.toString(), ...spec.toJSON()}
    }
    if (!flags.json) this.log(formatQoSTable())
    return {
      presets: Object.fromEntries(PRESET_NAMES.map((name) => [name, (QoS[name] as QoSSpec).toJSON()])),
      keys: QOS_KEYS.map(({key, unit, meaning}) => ({key, unit, meaning})),
    }
  }
}
