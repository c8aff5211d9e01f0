//! Redis's sparse HyperLogLog encoding: the value a small day-hour is sent as. A sparse value of a
//! few hundred bytes stands for the same registers as the 12,304-byte dense one, and `PFMERGE`
//! keeps its target sparse when every input is sparse, so a retained day costs Redis kilobytes,
//! not 290 KiB.
//!
//! After the 16-byte header (`HYLL`, encoding 1), opcodes cover the 16,384 registers in order:
//! ZERO `00xxxxxx` (1..64 zero registers), XZERO `01xxxxxx yyyyyyyy` (1..16384), VAL `1vvvvvxx`
//! (1..4 registers of value 1..32). Redis does not promise one byte form for given registers (it
//! merges equal values only near a change), so values are compared by their registers.

use crate::hll::REGISTERS;

/// The header of a sparse value: magic, encoding 1 (sparse), the cached count marked invalid.
const HEADER: &[u8; 16] = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80";
/// The largest register value a VAL opcode holds; a larger one needs the dense encoding.
pub const MAX_VALUE: u8 = 32;
const ZERO_MAX: usize = 64;
const XZERO_MAX: usize = REGISTERS;
const VAL_MAX_RUN: usize = 4;

/// Appends the opcodes of `len` zero registers (one opcode: the run is at most 16,384 long).
fn push_zeros(out: &mut Vec<u8>, len: usize) {
  match len {
    0 => {}
    1..=ZERO_MAX => out.push((len - 1) as u8),
    _ => {
      let n = len.min(XZERO_MAX) - 1;
      out.push(0x40 | (n >> 8) as u8);
      out.push(n as u8);
    }
  }
}

/// Redis's sparse value of the registers given as `(index, value)` pairs in ascending index order
/// (no zero values), or `None` when a value is above 32 and only the dense encoding holds it.
///
/// ```
/// // One register, index 14332 of value 5: what Redis holds after one PFADD of such an element.
/// let value = loghour::redis_sparse::encode([(14332, 5)].into_iter()).unwrap();
/// assert_eq!(&value[16..], &[0x77, 0xfb, 0x90, 0x48, 0x02]);
/// ```
pub fn encode(registers: impl Iterator<Item = (usize, u8)>) -> Option<Vec<u8>> {
  let mut out = Vec::with_capacity(64);
  out.extend_from_slice(HEADER);
  let mut next = 0; // the first register not written yet
  let mut run: Option<(u8, usize)> = None; // a VAL run being built: value, length
  for (index, value) in registers {
    if value > MAX_VALUE {
      return None;
    }
    // Zero values say nothing; out-of-order or out-of-range indexes are a caller's bug, skipped.
    if value == 0 || index < next || index >= REGISTERS {
      continue;
    }
    match run {
      Some((v, len)) if v == value && index == next && len < VAL_MAX_RUN => run = Some((v, len + 1)),
      _ => {
        if let Some((v, len)) = run.take() {
          out.push(0x80 | (v - 1) << 2 | (len - 1) as u8);
        }
        push_zeros(&mut out, index - next);
        run = Some((value, 1));
      }
    }
    next = index + 1;
  }
  if let Some((v, len)) = run {
    out.push(0x80 | (v - 1) << 2 | (len - 1) as u8);
  }
  push_zeros(&mut out, REGISTERS - next);
  Some(out)
}

/// The registers of a sparse value, or `None` when it is not one (a bad header, runs that do not
/// cover exactly 16,384 registers): what Redis reads from it.
pub fn decode(value: &[u8]) -> Option<Vec<u8>> {
  if value.len() < HEADER.len() || &value[..5] != b"HYLL\x01" {
    return None;
  }
  let mut registers = vec![0u8; REGISTERS];
  let mut at = 0;
  let mut bytes = value[HEADER.len()..].iter();
  while let Some(&op) = bytes.next() {
    let (len, v) = match op >> 6 {
      0 => ((op & 0x3f) as usize + 1, 0),
      1 => ((((op & 0x3f) as usize) << 8 | *bytes.next()? as usize) + 1, 0),
      _ => ((op & 3) as usize + 1, (op >> 2 & 0x1f) + 1),
    };
    if at + len > REGISTERS {
      return None;
    }
    registers[at..at + len].fill(v);
    at += len;
  }
  (at == REGISTERS).then_some(registers)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::hll::{index_and_rank, murmur64a, Hll};

  #[test]
  fn the_empty_value_is_one_xzero_as_redis_creates_it() {
    let empty = encode(std::iter::empty()).unwrap();
    assert_eq!(hex(&empty), "48594c4c0100000000000000000000807fff");
  }

  #[test]
  fn runs_of_values_and_zeros_take_their_shortest_opcodes() {
    // 5 equal neighbours: a VAL of 4 then a VAL of 1; a 64-zero gap is one ZERO, 65 an XZERO.
    let registers = (0..5).map(|i| (i, 3)).chain([(69, 1), (135, 32)]);
    let value = encode(registers).unwrap();
    assert_eq!(hex(&value[16..]), "8b883f804040fc7f77");
    let decoded = decode(&value).unwrap();
    assert_eq!(&decoded[..6], &[3, 3, 3, 3, 3, 0]);
    assert_eq!((decoded[69], decoded[135], decoded[136]), (1, 32, 0));
    assert_eq!(
      encode([(7, 33)].into_iter()),
      None,
      "a value above 32 needs the dense encoding"
    );
  }

  #[test]
  fn random_register_sets_come_back_and_match_the_dense_hll() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for size in [1usize, 2, 5, 63, 64, 65, 300, 512, 2000] {
      let mut hll = Hll::new();
      for _ in 0..size {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (index, rank) = index_and_rank(murmur64a(&seed.to_le_bytes()));
        if rank <= MAX_VALUE && hll.register(index) < rank {
          hll.set_register(index, rank);
        }
      }
      let pairs: Vec<(usize, u8)> = (0..REGISTERS).map(|i| (i, hll.register(i))).filter(|&(_, v)| v > 0).collect();
      let value = encode(pairs.iter().copied()).unwrap();
      let decoded = decode(&value).unwrap();
      assert!((0..REGISTERS).all(|i| decoded[i] == hll.register(i)), "{size} elements");
      assert!(value.len() <= 16 + 3 * pairs.len() + 2, "{size}: {} bytes", value.len());
    }
  }

  #[test]
  fn malformed_values_do_not_decode() {
    let good = encode([(5, 2)].into_iter()).unwrap();
    assert!(decode(&good[..good.len() - 1]).is_none(), "runs short of 16384");
    let mut long = good.clone();
    long.push(0x00);
    assert!(decode(&long).is_none(), "runs past 16384");
    assert!(decode(b"HYLL\0").is_none(), "dense");
  }

  fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
  }
}
