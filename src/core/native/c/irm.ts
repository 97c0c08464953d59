/** irm.h: the IRMd management API (libouroboros-irm, no constructor: safe to load without an IRMd). */
import koffi, {type LibraryHandle} from 'koffi'
import {NameInfo, type CNameInfo} from '../marshal.js'
import type {CFunction, Pointer} from './types.js'

export interface IrmApi {
  /** Count of entries; `out[0]` is a malloc'd array of struct ipcp_list_info (free with libc free). */
  irm_list_ipcps: CFunction<[out: [Pointer | null]], number>
  irm_list_names: CFunction<[out: [Pointer | null]], number>
  irm_create_name: CFunction<[info: CNameInfo], number>
  irm_destroy_name: CFunction<[name: string], number>
  irm_reg_name: CFunction<[name: string, pid: number], number>
  irm_unreg_name: CFunction<[name: string, pid: number], number>
  irm_bind_process: CFunction<[pid: number, name: string], number>
  irm_unbind_process: CFunction<[pid: number, name: string], number>
}

export function declareIrm(lib: LibraryHandle): IrmApi {
  const outPtr = koffi.out(koffi.pointer('void *'))
  return {
    irm_list_ipcps: lib.func('irm_list_ipcps', 'int64_t', [outPtr]),
    irm_list_names: lib.func('irm_list_names', 'int64_t', [outPtr]),
    irm_create_name: lib.func('irm_create_name', 'int', [koffi.pointer(NameInfo)]),
    irm_destroy_name: lib.func('irm_destroy_name', 'int', ['str']),
    irm_reg_name: lib.func('irm_reg_name', 'int', ['str', 'int']),
    irm_unreg_name: lib.func('irm_unreg_name', 'int', ['str', 'int']),
    irm_bind_process: lib.func('irm_bind_process', 'int', ['int', 'str']),
    irm_unbind_process: lib.func('irm_unbind_process', 'int', ['int', 'str']),
  } as unknown as IrmApi
}
