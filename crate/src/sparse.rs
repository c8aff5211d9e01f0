//! A HyperLogLog that starts small: most (day, hour) sketches of a retention window hold a few
//! users, and 16 KiB of registers each would make `--retain-days` costly. It keeps the registers
//! set so far as `index << 6 | rank` words (4 bytes each) in a small open-addressing table (an
//! insert is O(1), never a shift of what is there) and turns into the plain dense [`Hll`] once
//! the table would be half its size. Its count and its Redis value are always those of the dense
//! HLL fed the same elements (docs/daily.md).

use crate::hll::{estimate, index_and_rank, murmur64a, Hll, REGISTERS};
use crate::redis_sparse;

/// Set registers beyond which a sketch turns dense: 512 words fill half of a 1,024-slot table
/// (4 KiB, a quarter of the dense registers' 16 KiB). Sparse saves memory for the many small
/// day-hours; past this, the dense registers' direct index is cheaper than growing the table.
pub const PROMOTE_AT: usize = 512;

/// Slots of the largest table; tables double from 8 while at most half full (linear probing
/// then takes about 2.5 probes for a new register, 8.5 at three quarters).
const MAX_SLOTS: usize = 1024;

/// A HyperLogLog, sparse while few registers are set.
#[derive(Clone)]
pub enum SmallHll {
  /// The registers that are not zero, as words in a table (0 = free slot).
  Sparse(SparseRegisters),
  /// The plain registers, once there are more than [`PROMOTE_AT`].
  Dense(Hll),
}

/// `index << 6 | rank` words of the registers that are not zero, in an open-addressing table
/// (linear probing on the index).
#[derive(Clone, Default)]
pub struct SparseRegisters {
  slots: Vec<u32>,
  len: usize,
}

impl SparseRegisters {
  /// The words of the registers set (in no particular order).
  pub fn words(&self) -> impl Iterator<Item = u32> + '_ {
    self.slots.iter().copied().filter(|&w| w != 0)
  }

  /// Registers set.
  pub fn len(&self) -> usize {
    self.len
  }

  /// True when no register is set.
  pub fn is_empty(&self) -> bool {
    self.len == 0
  }

  #[inline]
  fn slot_of(&self, index: u32) -> usize {
    let bits = self.slots.len().trailing_zeros();
    // Fibonacci hashing: the index's bits spread over the table's top bits.
    (index.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
  }

  /// Raises register `index` to `rank`; `None` when the table is full and the sketch must turn
  /// dense, else whether it grew.
  #[inline]
  fn raise(&mut self, index: u32, rank: u8) -> Option<bool> {
    if (self.len + 1) * 2 > self.slots.len() {
      if self.slots.len() >= MAX_SLOTS {
        return None;
      }
      self.grow();
    }
    let mask = self.slots.len() - 1;
    let mut at = self.slot_of(index);
    loop {
      let w = self.slots[at];
      if w == 0 {
        self.slots[at] = index << 6 | rank as u32;
        self.len += 1;
        return Some(true);
      }
      if w >> 6 == index {
        if w & 63 >= rank as u32 {
          return Some(false);
        }
        self.slots[at] = index << 6 | rank as u32;
        return Some(true);
      }
      at = (at + 1) & mask;
    }
  }

  #[cold]
  #[inline(never)]
  fn grow(&mut self) {
    let slots = (self.slots.len() * 2).max(8);
    let old = std::mem::replace(&mut self.slots, vec![0; slots]);
    self.len = 0;
    for w in old.into_iter().filter(|&w| w != 0) {
      self.raise(w >> 6, (w & 63) as u8);
    }
  }
}

impl Default for SmallHll {
  fn default() -> Self {
    SmallHll::Sparse(SparseRegisters::default())
  }
}

impl SmallHll {
  /// Adds an element by its bytes, as `PFADD key element` does.
  ///
  /// ```
  /// let mut h = loghour::sparse::SmallHll::default();
  /// h.add(b"2019-05-06 17_10.0.121.67");
  /// assert_eq!(h.count(), 1);
  /// assert_eq!(h.bytes(), 32); // the smallest table: 8 slots
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
  #[inline]
  pub fn raise(&mut self, index: usize, rank: u8) -> bool {
    if rank == 0 {
      return false;
    }
    match self {
      SmallHll::Dense(hll) => {
        let grew = hll.register(index) < rank;
        if grew {
          hll.set_register(index, rank);
        }
        grew
      }
      SmallHll::Sparse(registers) => match registers.raise(index as u32, rank) {
        Some(grew) => grew,
        None => self.promote(index, rank),
      },
    }
  }

  /// Turns dense (the table is full), then raises the register.
  #[cold]
  #[inline(never)]
  fn promote(&mut self, index: usize, rank: u8) -> bool {
    let mut hll = self.to_hll();
    let grew = hll.register(index) < rank;
    hll.set_register(index, rank);
    *self = SmallHll::Dense(hll);
    grew
  }

  /// The dense HLL with the same registers.
  pub fn to_hll(&self) -> Hll {
    match self {
      SmallHll::Dense(hll) => hll.clone(),
      SmallHll::Sparse(registers) => {
        let mut hll = Hll::new();
        for w in registers.words() {
          hll.set_register((w >> 6) as usize, (w & 63) as u8);
        }
        hll
      }
    }
  }

  /// The value Redis holds for these registers: its sparse encoding while this is sparse (and no
  /// register is above 32), else the dense one. Either merges into a key as `PFADD`s would.
  ///
  /// ```
  /// let mut h = loghour::sparse::SmallHll::default();
  /// h.add(b"2019-05-06 17_10.0.121.67");
  /// assert_eq!(h.to_redis().len(), 16 + 5); // XZERO, VAL, XZERO
  /// ```
  pub fn to_redis(&self) -> Vec<u8> {
    if let SmallHll::Sparse(registers) = self {
      let mut words: Vec<u32> = registers.words().collect();
      words.sort_unstable();
      if let Some(value) = redis_sparse::encode(words.into_iter().map(|w| ((w >> 6) as usize, (w & 63) as u8))) {
        return value;
      }
    }
    self.to_hll().to_dense()
  }

  /// Merges these registers into `into` (register-wise max): unions of days.
  pub fn merge_into(&self, into: &mut Hll) {
    match self {
      SmallHll::Dense(hll) => into.merge(hll),
      SmallHll::Sparse(registers) => registers
        .words()
        .for_each(|w| into.set_register((w >> 6) as usize, (w & 63) as u8)),
    }
  }

  /// The cardinality estimate `PFCOUNT` returns for these registers.
  pub fn count(&self) -> u64 {
    match self {
      SmallHll::Dense(hll) => hll.count(),
      SmallHll::Sparse(registers) => {
        let mut histogram = [0u32; 64];
        histogram[0] = (REGISTERS - registers.len()) as u32;
        for w in registers.words() {
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
      SmallHll::Sparse(registers) => registers.slots.len() * 4,
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

  /// The Redis value is sparse while the sketch is, dense after, and always the same registers.
  #[test]
  fn its_redis_value_has_the_dense_registers_sparse_or_not() {
    let mut small = SmallHll::default();
    let mut dense = Hll::new();
    for i in 0..3_000u32 {
      let element = format!("2026-11-23 09_10.1.{}.{}", i % 97, i / 97);
      small.add(element.as_bytes());
      dense.add(element.as_bytes());
      if i % 97 == 0 || i < 20 {
        let value = small.to_redis();
        match &small {
          SmallHll::Sparse(_) => {
            let registers = redis_sparse::decode(&value).expect("a sparse value");
            assert!((0..REGISTERS).all(|r| registers[r] == dense.register(r)), "after {i}");
            assert!(value.len() < 2_000, "after {i}: {} bytes", value.len());
          }
          SmallHll::Dense(_) => assert_eq!(value, dense.to_dense(), "after {i}"),
        }
      }
    }
    assert!(matches!(small, SmallHll::Dense(_)));
  }

  #[test]
  fn sparse_until_a_quarter_of_the_dense_size() {
    let mut small = SmallHll::default();
    let mut i = 0u64;
    while let SmallHll::Sparse(registers) = &small {
      assert!(small.bytes() <= REGISTERS / 4, "{} words", registers.len());
      assert!(registers.len() <= PROMOTE_AT);
      small.add(&i.to_le_bytes());
      i += 1;
    }
    assert_eq!(small.bytes(), REGISTERS);
  }
}
