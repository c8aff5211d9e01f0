//! Redis's HyperLogLog, bit for bit: MurmurHash64A with Redis's seed, 2^14 six-bit registers,
//! Redis's rank rule, its dense byte layout and the Redis 7 cardinality estimator.
//!
//! Registers are kept unpacked (one byte each) so an update is a single compare-and-store; the
//! packed 6-bit form exists only at the edges ([`Hll::to_dense`], [`Hll::merge_dense`]).

use std::cell::Cell;

/// Number of index bits (Redis `HLL_P`).
pub const P: u32 = 14;
/// Number of registers (Redis `HLL_REGISTERS`).
pub const REGISTERS: usize = 1 << P;
/// Size of a dense Redis HLL string: 16-byte header plus 16384 six-bit registers.
pub const DENSE_SIZE: usize = HEADER_SIZE + REGISTERS * 6 / 8;
const HEADER_SIZE: usize = 16;
const SEED: u64 = 0xadc8_3b19;
const M: u64 = 0xc6a4_a793_5bd1_e995;
const R: u32 = 47;
/// `HLL_ALPHA_INF` = 0.5 / ln 2, spelled as Redis spells it (it rounds to the same f64).
#[allow(clippy::excessive_precision)]
const ALPHA_INF: f64 = 0.721_347_520_444_481_703_680;

/// MurmurHash64A exactly as Redis computes it for `PFADD` (seed `0xadc83b19`, blocks read
/// little-endian on every host).
///
/// ```
/// assert_eq!(loghour::hll::murmur64a(b"2019-05-06 17_10.0.121.67"), 0xbf6676378b7437fc);
/// ```
pub fn murmur64a(data: &[u8]) -> u64 {
  let mut h = SEED ^ (data.len() as u64).wrapping_mul(M);
  let mut blocks = data.chunks_exact(8);
  for block in &mut blocks {
    let mut k = u64::from_le_bytes([block[0], block[1], block[2], block[3], block[4], block[5], block[6], block[7]]);
    k = k.wrapping_mul(M);
    k ^= k >> R;
    k = k.wrapping_mul(M);
    h ^= k;
    h = h.wrapping_mul(M);
  }
  let tail = blocks.remainder();
  if !tail.is_empty() {
    for (j, &b) in tail.iter().enumerate() {
      h ^= (b as u64) << (8 * j);
    }
    h = h.wrapping_mul(M);
  }
  h ^= h >> R;
  h = h.wrapping_mul(M);
  h ^= h >> R;
  h
}

/// Register index (low 14 bits) and rank (1 + trailing zeros of the other 50 bits, with a stop
/// bit so the rank never exceeds 51) of a 64-bit element hash.
#[inline]
pub fn index_and_rank(hash: u64) -> (usize, u8) {
  let index = (hash & (REGISTERS as u64 - 1)) as usize;
  let w = (hash >> P) | (1u64 << (64 - P));
  (index, (w.trailing_zeros() + 1) as u8)
}

/// Why a byte string is not a dense HLL value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseError {
  /// Length differs from [`DENSE_SIZE`].
  Length,
  /// Magic is not `HYLL` or the encoding byte is not 0 (dense).
  Header,
}

/// One HyperLogLog: 16384 registers, each the maximum rank seen at that index.
#[derive(Clone)]
pub struct Hll {
  registers: Box<[u8; REGISTERS]>,
  /// The last [`Hll::count`], until a register grows: Redis caches it in the key for the same
  /// reason (a count reads all 16384 registers; metrics scrapes and dashboards ask often).
  count_cache: Cell<Option<u64>>,
}

impl Default for Hll {
  fn default() -> Self {
    Self::new()
  }
}

impl Hll {
  /// An empty HLL (every register zero; count 0).
  pub fn new() -> Self {
    Hll {
      registers: Box::new([0u8; REGISTERS]),
      count_cache: Cell::new(None),
    }
  }

  /// Adds an element given its [`murmur64a`] hash; returns true when a register grew (what
  /// Redis's `PFADD` reply reports).
  #[inline]
  pub fn add_hash(&mut self, hash: u64) -> bool {
    let (index, rank) = index_and_rank(hash);
    let slot = &mut self.registers[index];
    if rank > *slot {
      *slot = rank;
      self.count_cache.set(None);
      true
    } else {
      false
    }
  }

  /// Adds an element by its bytes, as `PFADD key element` does.
  ///
  /// ```
  /// let mut h = loghour::hll::Hll::new();
  /// h.add(b"2019-05-06 17_10.0.121.67");
  /// assert_eq!(h.count(), 1);
  /// ```
  pub fn add(&mut self, element: &[u8]) -> bool {
    self.add_hash(murmur64a(element))
  }

  /// Raises register `index` (0..16384) to `rank` if it is lower (a register-wise max, as a merge).
  pub fn set_register(&mut self, index: usize, rank: u8) {
    if rank > self.registers[index] {
      self.registers[index] = rank;
      self.count_cache.set(None);
    }
  }

  /// Merges another HLL into this one (register-wise max, as `PFMERGE`).
  pub fn merge(&mut self, other: &Hll) {
    for (mine, &theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
      *mine = (*mine).max(theirs);
    }
    self.count_cache.set(None);
  }

  /// Register value at `index` (0..16384).
  pub fn register(&self, index: usize) -> u8 {
    self.registers[index]
  }

  /// True when no register is set.
  pub fn is_empty(&self) -> bool {
    self.registers.iter().all(|&r| r == 0)
  }

  /// The cardinality estimate `PFCOUNT` returns for these registers (Redis 7, Ertl's estimator).
  pub fn count(&self) -> u64 {
    if let Some(count) = self.count_cache.get() {
      return count;
    }
    let mut histogram = [0u32; 64];
    for &r in self.registers.iter() {
      histogram[(r & 63) as usize] += 1;
    }
    let count = estimate(&histogram);
    self.count_cache.set(Some(count));
    count
  }

  /// The exact 12304-byte string Redis holds for these registers in the dense encoding, with the
  /// "cache invalid" bit set so `PFCOUNT` recomputes instead of trusting the cache bytes.
  pub fn to_dense(&self) -> Vec<u8> {
    let mut out = vec![0u8; DENSE_SIZE];
    self.write_dense(&mut out);
    out
  }

  /// Writes the dense value into `out`, which must be [`DENSE_SIZE`] bytes long.
  pub fn write_dense(&self, out: &mut [u8]) {
    assert_eq!(out.len(), DENSE_SIZE, "dense buffer size");
    out[..HEADER_SIZE].copy_from_slice(b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80");
    // Every 4 registers pack into 3 bytes, little-endian bit order.
    for (quad, bytes) in self.registers.chunks_exact(4).zip(out[HEADER_SIZE..].chunks_exact_mut(3)) {
      let v = quad[0] as u32 | (quad[1] as u32) << 6 | (quad[2] as u32) << 12 | (quad[3] as u32) << 18;
      bytes[0] = v as u8;
      bytes[1] = (v >> 8) as u8;
      bytes[2] = (v >> 16) as u8;
    }
  }

  /// Merges (register-wise max) a dense Redis HLL value into this one. The cache bytes and the
  /// three unused header bytes are ignored, as Redis ignores them.
  pub fn merge_dense(&mut self, dense: &[u8]) -> Result<(), DenseError> {
    if dense.len() != DENSE_SIZE {
      return Err(DenseError::Length);
    }
    if &dense[..4] != b"HYLL" || dense[4] != 0 {
      return Err(DenseError::Header);
    }
    self.count_cache.set(None);
    for (quad, bytes) in self.registers.chunks_exact_mut(4).zip(dense[HEADER_SIZE..].chunks_exact(3)) {
      let v = bytes[0] as u32 | (bytes[1] as u32) << 8 | (bytes[2] as u32) << 16;
      for (j, slot) in quad.iter_mut().enumerate() {
        let r = ((v >> (6 * j)) & 63) as u8;
        if r > *slot {
          *slot = r;
        }
      }
    }
    Ok(())
  }

  /// Builds an HLL from a dense Redis value.
  pub fn from_dense(dense: &[u8]) -> Result<Hll, DenseError> {
    let mut h = Hll::new();
    h.merge_dense(dense)?;
    Ok(h)
  }
}

/// Redis 7 `hllCount` on a register histogram (`histogram[k]` = registers equal to k).
pub fn estimate(histogram: &[u32; 64]) -> u64 {
  let m = REGISTERS as f64;
  let q = 64 - P as usize; // 50
  let mut z = m * tau((m - histogram[q + 1] as f64) / m);
  for k in (1..=q).rev() {
    z += histogram[k] as f64;
    z *= 0.5;
  }
  z += m * sigma(histogram[0] as f64 / m);
  let e = (ALPHA_INF * m * m / z).round();
  // Redis casts llroundl's result to uint64; for z == 0 that is the i64::MIN bit pattern.
  if e.is_finite() && e >= i64::MIN as f64 && e < i64::MAX as f64 {
    e as i64 as u64
  } else {
    i64::MIN as u64
  }
}

fn sigma(mut x: f64) -> f64 {
  if x == 1.0 {
    return f64::INFINITY;
  }
  let mut y = 1.0;
  let mut z = x;
  loop {
    x *= x;
    let prev = z;
    z += x * y;
    y += y;
    if z == prev {
      return z;
    }
  }
}

fn tau(mut x: f64) -> f64 {
  if x == 0.0 || x == 1.0 {
    return 0.0;
  }
  let mut y = 1.0;
  let mut z = 1.0 - x;
  loop {
    x = x.sqrt();
    let prev = z;
    y *= 0.5;
    z -= (1.0 - x).powf(2.0) * y; // libm pow, as Redis calls it
    if z == prev {
      return z / 3.0;
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn empty_counts_zero() {
    assert_eq!(Hll::new().count(), 0);
  }

  #[test]
  fn dense_round_trip_keeps_registers() {
    let mut h = Hll::new();
    for i in 0..5000u32 {
      h.add(format!("e{i}").as_bytes());
    }
    let back = Hll::from_dense(&h.to_dense()).unwrap();
    assert_eq!(back.registers[..], h.registers[..]);
    assert_eq!(back.count(), h.count());
  }

  /// The cached count is the uncached one after every kind of change: adds that grow a
  /// register, adds that do not, and merges.
  #[test]
  fn cached_count_follows_every_change() {
    let uncached = |h: &Hll| {
      let mut histogram = [0u32; 64];
      h.registers.iter().for_each(|&r| histogram[r as usize] += 1);
      estimate(&histogram)
    };
    let mut h = Hll::new();
    let mut other = Hll::new();
    for i in 0..20_000u32 {
      h.add(format!("e{}", i % 7_000).as_bytes());
      if i % 997 == 0 {
        assert_eq!(h.count(), uncached(&h), "after {i} adds");
      }
      other.add(format!("o{i}").as_bytes());
    }
    assert_eq!(h.count(), uncached(&h));
    h.merge_dense(&other.to_dense()).unwrap();
    assert_eq!(h.count(), uncached(&h));
    assert!(h.count() > 20_000);
  }

  #[test]
  fn merge_dense_rejects_bad_values() {
    let mut h = Hll::new();
    assert_eq!(h.merge_dense(&[0u8; DENSE_SIZE - 1]), Err(DenseError::Length));
    let mut bad = Hll::new().to_dense();
    bad[0] = b'h';
    assert_eq!(h.merge_dense(&bad), Err(DenseError::Header));
    bad[0] = b'H';
    bad[4] = 1;
    assert_eq!(h.merge_dense(&bad), Err(DenseError::Header));
  }

  #[test]
  fn rank_is_capped_at_51() {
    assert_eq!(index_and_rank(0), (0, 51));
    assert_eq!(index_and_rank(1 << 14), (0, 1));
  }
}
