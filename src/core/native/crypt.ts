/**
 * Encryption on Ouroboros 0.22+ is chosen per name by the IRMd from enc.conf files, not by QoS.
 * The binding writes and reads those files; on 0.23 it cannot tell whether the IRMd used them: its
 * IRM protocol does not carry a name's enc.conf path, so for a name created through it (irm_create_name,
 * the irm tool) the IRMd may look elsewhere and set the flow up in plain text, and nothing in the
 * library shows which happened. So ouro never claims the IRMd's encryption for a flow; a flow asked
 * for with cypher=N is encrypted by ouro itself, between ouro processes (aead.ts).
 */
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {OuroError} from '../errors.js'

/** Key bits of the ciphers enc.conf accepts (0.23 crypt.c). */
export const CIPHER_BITS: Record<string, 128 | 192 | 256> = {
  'aes-128-gcm': 128,
  'aes-192-gcm': 192,
  'aes-256-gcm': 256,
  'chacha20-poly1305': 256,
  'aes-128-ctr': 128,
  'aes-192-ctr': 192,
  'aes-256-ctr': 256,
}
export const DEFAULT_CIPHER = 'aes-256-gcm'

export function encConfPath(secDir: string, side: 'client' | 'server', name: string): string {
  return path.join(secDir, side, name, 'enc.conf')
}

/** The cipher an enc.conf selects: undefined when the file is missing or says `none`. */
export function configuredCipher(file: string): string | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  let cipher = DEFAULT_CIPHER
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (line === 'none') return undefined
    const m = /^cipher\s*=\s*(\S+)/.exec(line)
    if (m) cipher = m[1]!.toLowerCase()
  }
  return cipher
}

/** Writes client and server enc.conf files for `name` selecting `cipher`. Returns the files written. */
export function writeEncConf(name: string, cipher: string, secDir: string): string[] {
  if (!(cipher in CIPHER_BITS)) {
    throw new OuroError('EINVAL', `unknown cipher "${cipher}"; valid: ${Object.keys(CIPHER_BITS).join(', ')}`)
  }
  const files: string[] = []
  for (const side of ['client', 'server'] as const) {
    const file = encConfPath(secDir, side, name)
    try {
      mkdirSync(path.dirname(file), {recursive: true, mode: 0o755})
      writeFileSync(file, `# written by ouro for "${name}"\ncipher=${cipher}\n`, {mode: 0o644})
    } catch (err) {
      throw new OuroError('EPERM', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; run as root or write it by hand`)
    }
    files.push(file)
  }
  return files
}

/** Removes the enc.conf files (and their per-name directories) that writeEncConf made. */
export function removeEncConf(name: string, secDir: string): void {
  for (const side of ['client', 'server'] as const) {
    rmSync(path.dirname(encConfPath(secDir, side, name)), {recursive: true, force: true})
  }
}
