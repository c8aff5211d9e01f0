// Decoders of compressed POST /ingest bodies, and the memory they may take together. A decoder's
// memory is its window, which the sender chooses (a brotli stream may ask for 16 MiB after 9
// bytes), so concurrent bodies would cost whatever clients want: each body is charged its
// decoder's window before it is decoded, against one shared budget (src/ingest.ts), and over it
// the answer is 503 with Retry-After (shippers retry). The contract is in docs/contract.md ("HTTP ingest").
import type { Transform } from 'node:stream'
import zlib from 'node:zlib'

/** Decoder memory all compressed bodies being read at once may be charged, in bytes. */
export const DECODER_BUDGET_BYTES = 64 << 20

/** What a decoder costs beyond its window: its state and Node's output chunk (16 KiB). */
const DECODER_OVERHEAD_BYTES = 64 << 10

/** zstd windows larger than this (2^23 = 8 MiB, what `zstd -19` uses) are refused by the decoder. */
const ZSTD_WINDOW_LOG_MAX = 23

/** How a Content-Encoding is decoded, and what its decoder costs for a body that starts with `head`. */
interface Decoding {
  create(): Transform
  /** Bytes charged for the body, from its first bytes (at least one). */
  cost(head: Buffer): number
}

/** 32 KiB, the largest deflate window (RFC 1951), for gzip and deflate alike. */
const deflateCost = () => (32 << 10) + DECODER_OVERHEAD_BYTES

/**
 * The window a brotli stream declares in its first bits (RFC 7932, 9.1: WBITS), as bytes; the
 * decoder allocates it whole. A large-window stream (which Node's decoder refuses) is charged as
 * the largest standard window.
 */
export function brotliWindowBytes(first: number): number {
  let bits: number
  if ((first & 1) === 0) bits = 16
  else if (((first >> 1) & 7) !== 0) bits = 17 + ((first >> 1) & 7)
  else {
    const m = (first >> 4) & 7
    bits = m === 0 ? 17 : m === 1 ? 24 : 8 + m
  }
  return 2 ** bits
}

const DECODINGS: Record<string, Decoding> = {
  gzip: { create: () => zlib.createGunzip(), cost: deflateCost },
  'x-gzip': { create: () => zlib.createGunzip(), cost: deflateCost },
  deflate: { create: () => zlib.createInflate(), cost: deflateCost },
  br: { create: () => zlib.createBrotliDecompress(), cost: (head) => brotliWindowBytes(head[0]!) + DECODER_OVERHEAD_BYTES },
}
const zstd = (zlib as unknown as { createZstdDecompress?: (options?: object) => Transform }).createZstdDecompress
const zstdWindowParam = (zlib.constants as unknown as Record<string, number | undefined>).ZSTD_d_windowLogMax
if (typeof zstd === 'function' && zstdWindowParam !== undefined) {
  DECODINGS.zstd = {
    create: () => zstd({ params: { [zstdWindowParam]: ZSTD_WINDOW_LOG_MAX } }),
    cost: () => 2 ** ZSTD_WINDOW_LOG_MAX + DECODER_OVERHEAD_BYTES,
  }
}

/** The encodings a body may have, for 415 answers and the README. */
export const INGEST_ENCODINGS = ['identity', ...Object.keys(DECODINGS)]

/** The decoding of a Content-Encoding value, undefined for one that is not accepted. */
export function decodingOf(encoding: string): Decoding | undefined {
  return Object.hasOwn(DECODINGS, encoding) ? DECODINGS[encoding] : undefined
}
