import {mkdirSync, statSync, chmodSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {OuroError} from '../errors.js'

/**
 * The private runtime directory of the embedded backend: $OURO_RUNTIME_DIR, else $XDG_RUNTIME_DIR/ouro,
 * else ouro-<uid> under the OS temp dir. Created with mode 0700; refused when another user owns it.
 */
export function runtimeDir(): string {
  const env = process.env
  if (env.OURO_RUNTIME_DIR) return env.OURO_RUNTIME_DIR
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'ouro')
  return join(tmpdir(), `ouro-${userInfo().uid}`)
}

/** Makes sure `dir` exists, is ours and is private. Returns it. */
export function ensurePrivateDir(dir: string): string {
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    const st = statSync(dir)
    const uid = process.getuid?.()
    if (uid !== undefined && st.uid !== uid) {
      throw new OuroError('EPERM', `runtime dir ${dir} belongs to uid ${st.uid}, not to us (uid ${uid}); set OURO_RUNTIME_DIR`)
    }
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700)
  } catch (err) {
    if (err instanceof OuroError) throw err
    throw new OuroError('EPERM', `cannot use runtime dir ${dir}: ${(err as Error).message}; set OURO_RUNTIME_DIR`)
  }
  return dir
}
