// MurmurHash64A with Redis's seed in BigInt arithmetic: slow, obviously correct, test-only.
const MASK = (1n << 64n) - 1n
const M = 0xc6a4a7935bd1e995n
const SEED = 0xadc83b19n

export function murmur64a(data: Uint8Array): bigint {
  const n = data.length
  let h = (SEED ^ ((BigInt(n) * M) & MASK)) & MASK
  const blocks = Math.floor(n / 8)
  for (let b = 0; b < blocks; b++) {
    let k = 0n
    for (let j = 7; j >= 0; j--) k = (k << 8n) | BigInt(data[b * 8 + j]!)
    k = (k * M) & MASK
    k ^= k >> 47n
    k = (k * M) & MASK
    h ^= k
    h = (h * M) & MASK
  }
  const tail = n % 8
  if (tail > 0) {
    for (let j = 0; j < tail; j++) h ^= BigInt(data[blocks * 8 + j]!) << BigInt(8 * j)
    h = (h * M) & MASK
  }
  h ^= h >> 47n
  h = (h * M) & MASK
  h ^= h >> 47n
  return h
}
