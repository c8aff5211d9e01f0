// Test-only HLL helpers: register index/rank of a hash and decoding of a dense value (design §2).
export function indexAndRank(hash: bigint): { index: number; rank: number } {
  const index = Number(hash & 0x3fffn)
  let w = (hash >> 14n) | (1n << 50n)
  let rank = 1
  while ((w & 1n) === 0n) {
    w >>= 1n
    rank++
  }
  return { index, rank }
}

/** Registers of a 12304-byte dense Redis HLL value (per-register formula of the Redis source). */
export function denseRegisters(dense: Uint8Array): Uint8Array {
  const out = new Uint8Array(16384)
  for (let i = 0; i < 16384; i++) {
    const b = 16 + ((i * 6) >> 3)
    const fb = (i * 6) & 7
    const next = b + 1 < dense.length ? dense[b + 1]! : 0
    out[i] = ((dense[b]! >> fb) | (next << (8 - fb))) & 63
  }
  return out
}

/** Registers after adding the given hashes. */
export function registersOf(hashes: Iterable<bigint>): Uint8Array {
  const r = new Uint8Array(16384)
  for (const h of hashes) {
    const { index, rank } = indexAndRank(h)
    if (rank > r[index]!) r[index] = rank
  }
  return r
}

/**
 * Registers of any Redis HLL value, dense or sparse (ZERO `00xxxxxx`, XZERO `01xxxxxx yyyyyyyy`,
 * VAL `1vvvvvxx`): Redis promises no single byte form of a sparse value, so values are compared
 * by their registers. Throws on a value Redis would not read.
 */
export function valueRegisters(value: Uint8Array): Uint8Array {
  if (value.length < 16 || String.fromCharCode(...value.subarray(0, 4)) !== 'HYLL') throw new Error('not a Redis HLL value')
  if (value[4] === 0) return denseRegisters(value)
  const out = new Uint8Array(16384)
  let at = 0
  for (let i = 16; i < value.length; i++) {
    const op = value[i]!
    const [len, v] =
      op >> 6 === 0
        ? [(op & 0x3f) + 1, 0]
        : op >> 6 === 1
          ? [(((op & 0x3f) << 8) | value[++i]!) + 1, 0]
          : [(op & 3) + 1, ((op >> 2) & 0x1f) + 1]
    if (at + len > 16384) throw new Error('sparse runs past 16384 registers')
    out.fill(v, at, at + len)
    at += len
  }
  if (at !== 16384) throw new Error(`sparse runs cover ${at} registers`)
  return out
}
