import {PRESET_NAMES, QOS_KEYS, QoS, UINT32_MAX, UINT64_MAX, type QoSSpec} from '../core/index.js'
import {table} from './units.js'

function cell(value: number | bigint): string {
  if (value === UINT32_MAX || value === UINT64_MAX) return 'max'
  return String(value)
}

/** The presets side by side, then what each key means. */
export function formatQoSTable(): string {
  const presets = table(
    ['FIELD', ...PRESET_NAMES],
    QOS_KEYS.map((k) => [k.key, ...PRESET_NAMES.map((p) => cell(QoS[p][k.field]))]),
  )
  const keys = table(
    ['KEY', 'UNIT', 'MEANING'],
    QOS_KEYS.map((k) => [k.key, k.unit, k.meaning]),
  )
  return `Presets (max = UINT32_MAX / UINT64_MAX: no bound):\n\n${presets}\n\nKeys of --qos (ITEM[,ITEM...], a preset first, keys override left to right):\n\n${keys}`
}

/** One spec: its shortest --qos form and every field. */
export function formatSpec(spec: QoSSpec): string {
  return [`--qos ${spec.toString()}`, '', table(['KEY', 'VALUE'], QOS_KEYS.map((k) => [k.key, cell(spec[k.field])]))].join('\n')
}
