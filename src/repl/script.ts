import {readFileSync, statSync} from 'node:fs'
import {extname, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {OuroError} from '../core/index.js'

/** A module namespace: what a script exports. */
export type Exports = Record<string, unknown>

/** How a TypeScript script can be run here, best first. */
export type TsRunner = 'node' | 'tsx' | 'esbuild'

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts'])

export function isTypeScript(file: string): boolean {
  return TS_EXTENSIONS.has(extname(file).toLowerCase())
}

interface TsxApi {
  tsImport(specifier: string, parent: string): Promise<Exports>
}

interface EsbuildApi {
  transform(code: string, options: Record<string, unknown>): Promise<{code: string}>
}

/** Imports an optional package (a devDependency may be missing in an installed ouro). */
async function optional<T>(specifier: string): Promise<T | undefined> {
  try {
    return (await import(specifier)) as T
  } catch (err) {
    if ((err as {code?: string}).code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw err
  }
}

/** Node strips types itself from 22.6 (with --experimental-strip-types) and by default from 23.6. */
function nodeStripsTypes(): boolean {
  return Boolean((process.features as {typescript?: unknown}).typescript)
}

/** The one line said when no way to run TypeScript is available. */
export function noTypeScriptMessage(file: string): string {
  return (
    `cannot run ${file}: Node ${process.version} does not strip TypeScript types and neither tsx nor esbuild is installed; ` +
    'rename it to .mjs if it has no type annotations, install tsx (npm install --save-dev tsx), or use Node >= 22.6'
  )
}

/** The best way to run TypeScript here, or undefined when there is none. */
export async function tsRunner(): Promise<TsRunner | undefined> {
  if (nodeStripsTypes()) return 'node'
  if (await optional<TsxApi>('tsx/esm/api')) return 'tsx'
  if (await optional<EsbuildApi>('esbuild')) return 'esbuild'
  return undefined
}

async function importTypeScript(path: string, runner: TsRunner): Promise<Exports> {
  const url = pathToFileURL(path).href
  if (runner === 'node') return (await import(url)) as Exports
  if (runner === 'tsx') return (await optional<TsxApi>('tsx/esm/api'))!.tsImport(url, import.meta.url)
  // Relative imports cannot work from a data: URL; scripts use the globals, so that is rarely missed.
  const esbuild = (await optional<EsbuildApi>('esbuild'))!
  const {code} = await esbuild.transform(readFileSync(path, 'utf8'), {loader: 'ts', format: 'esm', target: 'node20', sourcefile: path, sourcemap: 'inline'})
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as Exports
}

/**
 * Checks that `file` can be run here (it exists; for TypeScript, something can strip its types)
 * and returns what runs it. Throws OuroError (ENOENT, EINVAL, ENOTSUP) with one line saying what to do.
 */
export async function prepareScript(file: string): Promise<() => Promise<Exports>> {
  const path = resolve(file)
  let isFile: boolean
  try {
    isFile = statSync(path).isFile()
  } catch (err) {
    throw new OuroError('ENOENT', `no script ${file}: ${(err as {code?: string}).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  if (!isFile) throw new OuroError('EINVAL', `${file} is not a file`)
  let runner: TsRunner | undefined
  if (isTypeScript(path)) {
    runner = await tsRunner()
    if (!runner) throw new OuroError('ENOTSUP', noTypeScriptMessage(file))
  }
  return () => runScript(path, file, runner)
}

/** Runs the script as a module, the API already on globalThis; resolves with its exports once its top level is done. */
async function runScript(path: string, file: string, runner: TsRunner | undefined): Promise<Exports> {
  const run = runner ? importTypeScript(path, runner) : (import(pathToFileURL(path).href) as Promise<Exports>)
  // A top-level await on something that can never settle would otherwise end the process silently.
  let onBeforeExit: (() => void) | undefined
  const stuck = new Promise<never>((_resolve, reject) => {
    onBeforeExit = () => reject(new Error(`${file} stopped at a top-level await that nothing can settle`))
    process.once('beforeExit', onBeforeExit)
  })
  try {
    return await Promise.race([run, stuck])
  } finally {
    process.off('beforeExit', onBeforeExit!)
  }
}

/** Where in `file` an error was thrown, as `file:line:column`, when its stack says so. */
export function scriptLocation(err: unknown, file: string): string | undefined {
  const stack = (err as {stack?: unknown})?.stack
  if (typeof stack !== 'string') return undefined
  const url = pathToFileURL(resolve(file)).href
  const path = resolve(file)
  for (const line of stack.split('\n')) {
    for (const prefix of [url, path]) {
      const at = line.indexOf(prefix)
      if (at < 0) continue
      const m = /^:(\d+)(?::(\d+))?/.exec(line.slice(at + prefix.length))
      if (m) return `${file}:${m[1]}${m[2] ? `:${m[2]}` : ''}`
    }
  }
  return undefined
}
