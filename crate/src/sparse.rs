//! A HyperLogLog that starts small: most (day, hour) sketches of a retention window hold a few
//! users, and 16 KiB of registers each would make `--retain-days` costly. It keeps the registers
//! set so far as sorted `index << 6 | rank` words (4 bytes each) and turns into the plain dense
//! [`Hll`] once that would no longer be smaller. Its count and its Redis value are always those
//! of the dense HLL fed the same elements (docs/daily.md).

use crate::hll::{estimate, index_and_rank, murmur64a, Hll, REGISTERS};

/// Set registers beyond which a sketch turns dense: 3,072 words are 12 KiB, the size of the dense
/// value Redis holds (the in-memory dense registers take 16 KiB).
pub const PROMOTE_AT: usize = 3072;

/// A HyperLogLog, sparse while few registers are set.
#[derive(Clone)]
pub enum SmallHll {
  /// Sorted by register index; one word per register that is not zero.
  Sparse(Vec<u32>),
  /// The plain registers, once there are more than [`PROMOTE_AT`].
  Dense(Hll),
}

impl Default for SmallHll {
  fn default() -> Self {
    SmallHll::Sparse(Vec::new())
  }
}

impl SmallHll {
  /// Adds an element by its bytes, as `PFADD key element` does.
  ///
  /// ```
  /// let mut h = loghour::sparse::SmallHll::default();
  /// h.add(b"2019-05-06 17_10.0.121.67");
  /// assert_eq!(h.count(), 1);
  /// assert_eq!(h.bytes(), 4);
  /// ```
  pub fn add(&mut self, element: &[u8]) -> bool {
    self.add_hash(murmur64a(element))
  }

  /// Adds an element given its hash; true when a register grew.
  #[inline]
  pub fn add_hash(&mut self, hash: u64) -> bool {
    let (index, rank) = index_and_rank(hash);
    self.raise(index, rank)
  }

  /// Raises register `index` to `rank` if it is lower (`index < REGISTERS`, `rank < 64`); true
  /// when it grew.
  pub fn raise(&mut self, index: usize, rank: u8) -> bool {
    if rank == 0 {
      return false;
    }
    let words = match self {
      SmallHll::Dense(hll) => {
        let grew = hll.register(index) < rank;
        if grew {
          hll.set_register(index, rank);
        }
        return grew;
      }
      SmallHll::Sparse(words) => words,
    };
    let word = (index as u32) << 6 | rank as u32;
    match words.binary_search_by_key(&(index as u32), |w| w >> 6) {
      Ok(at) if words[at] & 63 >= rank as u32 => false,
      Ok(at) => {
        words[at] = word;
        true
      }
      Err(at) => {
        words.insert(at, word);
        if words.len() > PROMOTE_AT {
          *self = SmallHll::Dense(self.to_hll());
        }
        true
      }
    }
  }

  /// The dense HLL with the same registers.
  pub fn to_hll(&self) -> Hll {
    match self {
      SmallHll::Dense(hll) => hll.clone(),
      SmallHll::Sparse(words) => {
        let mut hll = Hll::new();
        for &w in words {
          hll.set_register((w >> 6) as usize, (w & 63) as u8);
        }
        hll
      }
    }
  }

  /// Merges these registers into `into` (register-wise max): unions of days.
  pub fn merge_into(&self, into: &mut Hll) {
    match self {
      SmallHll::Dense(hll) => into.merge(hll),
      SmallHll::Sparse(words) => words
        .iter()
        .for_each(|&w| into.set_register((w >> 6) as usize, (w & 63) as u8)),
    }
  }

  /// The cardinality estimate `PFCOUNT` returns for these registers.
  pub fn count(&self) -> u64 {
    match self {
      SmallHll::Dense(hll) => hll.count(),
      SmallHll::Sparse(words) => {
        let mut histogram = [0u32; 64];
        histogram[0] = (REGISTERS - words.len()) as u32;
        for &w in words {
          histogram[(w & 63) as usize] += 1;
        }
        estimate(&histogram)
      }
    }
  }

  /// Memory its registers take, in bytes.
  pub fn bytes(&self) -> usize {
    match self {
      SmallHll::Dense(_) => REGISTERS,
      SmallHll::Sparse(words) => words.len() * 4,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Sparse or dense, the registers, count and Redis value are those of the dense HLL fed the
  /// same elements, before, at and after the promotion.
  #[test]
  fn follows_the_dense_hll_through_promotion() {
    let mut small = SmallHll::default();
    let mut dense = Hll::new();
    let mut promoted_at = None;
    for i in 0..20_000u32 {
      let element = format!("2026-11-23 09_10.0.{}.{}", i % 4_001, i / 7);
      assert_eq!(small.add(element.as_bytes()), dense.add(element.as_bytes()), "element {i}");
      if promoted_at.is_none() && matches!(small, SmallHll::Dense(_)) {
        promoted_at = Some(i);
      }
      if i % 251 == 0 || i < 50 {
        assert_eq!(small.count(), dense.count(), "after {i}");
        assert_eq!(small.to_hll().to_dense(), dense.to_dense(), "after {i}");
        let mut union = Hll::new();
        small.merge_into(&mut union);
        assert_eq!(union.to_dense(), dense.to_dense(), "merged after {i}");
      }
    }
    assert!(promoted_at.is_some());
    assert_eq!(small.count(), dense.count());
  }

  #[test]
  fn sparse_until_dense_would_be_smaller() {
    let mut small = SmallHll::default();
    let mut i = 0u64;
    while let SmallHll::Sparse(words) = &small {
      assert!(words.len() * 4 <= REGISTERS, "{} words", words.len());
      small.add(&i.to_le_bytes());
      i += 1;
    }
    assert_eq!(small.bytes(), REGISTERS);
  }
}
