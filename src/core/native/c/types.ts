/** A declared C function: callable synchronously, or on a worker thread through `.async`. */
export type CFunction<A extends unknown[], R> = ((...args: A) => R) & {
  async: (...args: [...A, (err: unknown, result: R) => void]) => void
}

/** An opaque C pointer (koffi 3: a BigInt address). */
export type Pointer = bigint
