//! Redis golden vectors (confirmed against redis-server 7.0.15), from the project's fixtures.

use std::path::PathBuf;

use loghour::hll::{index_and_rank, murmur64a, Hll, DENSE_SIZE, REGISTERS};
use serde_json::Value;

fn fixture(name: &str) -> String {
  let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test/fixtures").join(name);
  std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn vectors() -> Value {
  serde_json::from_str(&fixture("redis-hll-vectors.json")).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
  (0..s.len())
    .step_by(2)
    .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
    .collect()
}

/// Packs registers with Redis's per-register get/set formulas (spec §3), independently of the
/// crate's 4-in-3 packing.
fn pack(registers: &[u8]) -> Vec<u8> {
  let mut out = vec![0u8; DENSE_SIZE + 1];
  out[..16].copy_from_slice(b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80");
  let r = &mut out[16..];
  for (i, &v) in registers.iter().enumerate() {
    let (b, fb) = (i * 6 / 8, (i * 6 % 8) as u32);
    let v = v as u32;
    r[b] = ((r[b] as u32 & !(63 << fb)) | (v << fb)) as u8;
    r[b + 1] = ((r[b + 1] as u32 & !(63 >> (8 - fb))) | (v >> (8 - fb))) as u8;
  }
  out.truncate(DENSE_SIZE);
  out
}

#[test]
fn per_element_hash_index_rank_and_dense_bytes() {
  let v = vectors();
  let list = v["vectors"].as_array().unwrap();
  assert_eq!(list.len(), 57);
  for vec in list {
    let element = unhex(vec["element_hex"].as_str().unwrap());
    let hash = murmur64a(&element);
    assert_eq!(format!("{hash:016x}"), vec["hash_hex"].as_str().unwrap(), "{vec}");
    let (index, rank) = index_and_rank(hash);
    assert_eq!(index as u64, vec["index"].as_u64().unwrap());
    assert_eq!(rank as u64, vec["rank"].as_u64().unwrap());
    let mut h = Hll::new();
    assert!(h.add(&element));
    assert!(!h.add(&element), "re-adding changes nothing");
    let dense = h.to_dense();
    let nonzero: Vec<(u64, String)> = dense
      .iter()
      .enumerate()
      .skip(16)
      .filter(|(_, &b)| b != 0)
      .map(|(i, b)| (i as u64, format!("{b:02x}")))
      .collect();
    let expected: Vec<(u64, String)> = vec["dense_nonzero_bytes"]
      .as_array()
      .unwrap()
      .iter()
      .map(|p| (p[0].as_u64().unwrap(), p[1].as_str().unwrap().to_string()))
      .collect();
    assert_eq!(nonzero, expected, "{}", vec["element_hex"]);
    assert_eq!(h.count(), 1);
  }
}

#[test]
fn dense_dump_of_1000_elements_is_byte_identical() {
  let v = vectors();
  let d = &v["dense_1000"];
  let mut h = Hll::new();
  for i in 0..1000 {
    h.add(format!("2019-05-{:02} {:02}_10.0.{}.{}", 1 + i % 31, i % 24, i / 256, i % 256).as_bytes());
  }
  let expected = unhex(fixture("redis-hll-dense-1000.hex").trim());
  assert_eq!(expected.len(), DENSE_SIZE);
  assert_eq!(&expected[..16], &unhex(d["header_hex_after_pfadd"].as_str().unwrap())[..]);
  assert!(h.to_dense() == expected, "dense value differs from Redis's");
  assert_eq!(h.count(), d["pfcount_dense"].as_u64().unwrap());
  // Import of Redis's value gives back the same registers.
  assert!(Hll::from_dense(&expected).unwrap().to_dense() == expected);
  // The histogram Redis's registers have.
  let mut histogram = std::collections::BTreeMap::new();
  for i in 0..REGISTERS {
    *histogram.entry(h.register(i).to_string()).or_insert(0u64) += 1;
  }
  let want: std::collections::BTreeMap<String, u64> = d["register_histogram"]
    .as_object()
    .unwrap()
    .iter()
    .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
    .collect();
  assert_eq!(histogram, want);
}

#[test]
fn pfcount_accuracy_rows() {
  let v = vectors();
  let rows = v["accuracy"]["rows"].as_array().unwrap();
  let mut h = Hll::new();
  let mut added = 0u64;
  for row in rows {
    let n = row["n"].as_u64().unwrap();
    while added < n {
      let i = added;
      h.add(format!("2019-05-06 17_10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255).as_bytes());
      added += 1;
    }
    assert_eq!(h.count(), row["pfcount"].as_u64().unwrap(), "n = {n}");
  }
  assert_eq!(added, 1_000_000);
}

#[test]
fn pfcount_of_synthetic_registers() {
  let v = vectors();
  let rows = v["estimator_synthetic"]["rows"].as_array().unwrap();
  for row in rows {
    let desc = row["registers"].as_str().unwrap();
    let rule: fn(usize) -> u8 = match desc {
      d if d.starts_with("register[0] = 1") => |i| (i == 0) as u8,
      d if d.starts_with("register[i] = 1 for all") => |_| 1,
      d if d.starts_with("register[i] = 2 for all") => |_| 2,
      d if d.starts_with("register[i] = i % 4") => |i| (i % 4) as u8,
      d if d.starts_with("register[i] = i % 52") => |i| (i % 52) as u8,
      d if d.starts_with("register[i] = 1 + (i % 20)") => |i| 1 + (i % 20) as u8,
      d if d.starts_with("register[i] = 51 for i < 5827") => |i| if i < 5827 { 51 } else { 0 },
      d if d.starts_with("register[i] = 63 for i == 0") => |i| if i == 0 { 63 } else { 0 },
      d if d.starts_with("register[i] = 63 for all") => |_| 63,
      other => panic!("unknown synthetic row {other}"),
    };
    let registers: Vec<u8> = (0..REGISTERS).map(rule).collect();
    let h = Hll::from_dense(&pack(&registers)).unwrap();
    assert_eq!(h.count() as i64, row["pfcount"].as_i64().unwrap(), "{desc}");
  }
}

#[test]
fn experiment_3a_ten_thousand_elements() {
  let v = vectors();
  let mut h = Hll::new();
  for i in 0..10_000u32 {
    h.add(format!("2019-05-06 17_10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255).as_bytes());
  }
  assert_eq!(
    h.count(),
    v["experiments"]["3a_set_raw_dense"]["pfcount_B_pfadd"].as_u64().unwrap()
  );
  // Packing agrees with the spec's per-register formula.
  let registers: Vec<u8> = (0..REGISTERS).map(|i| h.register(i)).collect();
  assert!(pack(&registers) == h.to_dense());
}
