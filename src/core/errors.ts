/**
 * One error class for the whole API. Every failure carries a stable string `code`
 * (what programs should test) and the Ouroboros/POSIX `errno` it stands for.
 */

interface ErrnoInfo {
  readonly errno: number
  readonly code: string
  readonly text: string
}

/** Ouroboros-specific errno values (include/ouroboros/errno.h, 0.22+) and the POSIX ones the API returns (Linux). */
export const ERRNO = {
  EPERM: {errno: 1, code: 'OURO_ERR_PERM', text: 'operation not permitted'},
  ENOENT: {errno: 2, code: 'OURO_ERR_NOENT', text: 'no such file or directory'},
  EBADF: {errno: 9, code: 'OURO_ERR_BAD_FD', text: 'bad flow descriptor'},
  EAGAIN: {errno: 11, code: 'OURO_ERR_AGAIN', text: 'resource temporarily unavailable'},
  ENOMEM: {errno: 12, code: 'OURO_ERR_NOMEM', text: 'out of memory'},
  EBUSY: {errno: 16, code: 'OURO_ERR_BUSY', text: 'resource busy'},
  EINVAL: {errno: 22, code: 'OURO_ERR_INVALID', text: 'invalid argument'},
  EPIPE: {errno: 32, code: 'OURO_ERR_PIPE', text: 'wait terminated'},
  EMSGSIZE: {errno: 90, code: 'OURO_ERR_MSG_SIZE', text: 'message too long'},
  ENOTSUP: {errno: 95, code: 'OURO_ERR_NOT_SUPPORTED', text: 'not supported'},
  ECONNRESET: {errno: 104, code: 'OURO_ERR_CONN_RESET', text: 'connection reset'},
  ETIMEDOUT: {errno: 110, code: 'OURO_ERR_TIMED_OUT', text: 'timed out'},
  ECANCELED: {errno: 125, code: 'OURO_ERR_ABORTED', text: 'operation aborted'},
  ENOTALLOC: {errno: 1000, code: 'OURO_ERR_NOT_ALLOC', text: 'flow not allocated'},
  EIPCPTYPE: {errno: 1001, code: 'OURO_ERR_IPCP_TYPE', text: 'unknown IPCP type'},
  EIRMD: {errno: 1002, code: 'OURO_ERR_IRMD', text: 'cannot reach the IRMd'},
  EIPCP: {errno: 1003, code: 'OURO_ERR_IPCP', text: 'IPCP failure or name unreachable'},
  EIPCPSTATE: {errno: 1004, code: 'OURO_ERR_IPCP_STATE', text: 'target in wrong state'},
  EFLOWDOWN: {errno: 1005, code: 'OURO_ERR_FLOW_DOWN', text: 'flow is down'},
  EFLOWPEER: {errno: 1006, code: 'OURO_ERR_FLOW_PEER', text: 'peer timed out'},
  ENAME: {errno: 1007, code: 'OURO_ERR_NAME', text: 'naming error'},
  ECRYPT: {errno: 1008, code: 'OURO_ERR_CRYPT', text: 'encryption error'},
  EAUTH: {errno: 1009, code: 'OURO_ERR_AUTH', text: 'authentication error'},
} as const satisfies Record<string, ErrnoInfo>

export type ErrnoName = keyof typeof ERRNO
export type ErrorCode = (typeof ERRNO)[ErrnoName]['code']

const byErrno = new Map<number, ErrnoName>(
  (Object.keys(ERRNO) as ErrnoName[]).map((name) => [ERRNO[name].errno, name]),
)

/** The error every ouro API call rejects or throws with. Test `err.code`, never the message. */
export class OuroError extends Error {
  /** Stable string code, e.g. `OURO_ERR_FLOW_DOWN`. */
  readonly code: ErrorCode
  /** The errno name, e.g. `EFLOWDOWN`. */
  readonly errnoName: ErrnoName
  /** The positive Ouroboros/POSIX errno value, e.g. 1005. */
  readonly errno: number

  constructor(name: ErrnoName, message?: string, options?: ErrorOptions) {
    const info = ERRNO[name]
    super(message ?? info.text, options)
    this.name = 'OuroError'
    this.code = info.code
    this.errnoName = name
    this.errno = info.errno
  }

  /** Turns a negative C return value (-errno) into an OuroError; -1 from a failed IRMd socket included. */
  static fromErrno(value: number, context?: string): OuroError {
    const errno = Math.abs(value)
    const name = byErrno.get(errno)
    const what = context ? `${context}: ` : ''
    if (!name) {
      const err = new OuroError('EINVAL', `${what}unknown error ${errno}`)
      Object.defineProperty(err, 'errno', {value: errno})
      return err
    }
    return new OuroError(name, `${what}${ERRNO[name].text}`)
  }
}

/** True when `err` is an OuroError with the given errno name. */
export function isOuroError(err: unknown, name?: ErrnoName): err is OuroError {
  return err instanceof OuroError && (name === undefined || err.errnoName === name)
}
