//! Single-thread throughput of the native core on `gen` pattern-1 data held in memory.
//!
//! `cargo run --release --example core_bench -- [LINES] [RUNS]` prints one JSON object per
//! measurement (min/median/max over RUNS after a warm-up), for `npm run bench` to collect.
use std::time::Instant;

use loghour::demo::{generate, Pattern};
use loghour::sketch::{HourlySketch, LineStream};

fn measure(name: &str, data: &[u8], lines: u64, runs: usize, mut f: impl FnMut() -> u64) {
  let check = f(); // warm-up, and a result the optimizer cannot drop
  let mut secs: Vec<f64> = (0..runs)
    .map(|_| {
      let t = Instant::now();
      std::hint::black_box(f());
      t.elapsed().as_secs_f64()
    })
    .collect();
  secs.sort_by(|a, b| a.partial_cmp(b).unwrap());
  let mbps = |s: f64| data.len() as f64 / s / 1e6;
  let lps = |s: f64| lines as f64 / s;
  println!(
    "{{\"name\":\"{name}\",\"bytes\":{},\"lines\":{lines},\"runs\":{runs},\"check\":{check},\
     \"mbps\":{{\"min\":{:.1},\"median\":{:.1},\"max\":{:.1}}},\
     \"lps\":{{\"min\":{:.0},\"median\":{:.0},\"max\":{:.0}}}}}",
    data.len(),
    mbps(secs[runs - 1]),
    mbps(secs[runs / 2]),
    mbps(secs[0]),
    lps(secs[runs - 1]),
    lps(secs[runs / 2]),
    lps(secs[0]),
  );
}

fn main() {
  let mut args = std::env::args().skip(1);
  let lines: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
  let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
  let mut data = Vec::new();
  generate(Pattern::One, 1, lines, &mut data);

  if std::env::var("ONCE").is_ok_and(|v| v == "gen") {
    println!("{}", data.len());
    return;
  }
  if std::env::var("ONCE").is_ok() {
    // For instruction counting under valgrind: one scan, nothing else.
    let mut sketch = HourlySketch::new();
    let mut stream = LineStream::new(65536, Default::default());
    for chunk in data.chunks(65536) {
      stream.feed(chunk, &mut sketch);
    }
    println!("{}", sketch.counters().counted);
    return;
  }
  if std::env::var("STAGES").is_ok() {
    stages(&data, lines);
    return;
  }
  measure("memchr line count", &data, lines, runs, || {
    memchr::memchr_iter(b'\n', &data).count() as u64
  });

  measure(
    "core scan (split + validate + filter + sketch), 64 KiB chunks",
    &data,
    lines,
    runs,
    || {
      let mut sketch = HourlySketch::new();
      let mut stream = LineStream::new(65536, Default::default());
      for chunk in data.chunks(65536) {
        stream.feed(chunk, &mut sketch);
      }
      stream.finish(&mut sketch);
      sketch.counters().counted
    },
  );

  measure("core scan, whole buffer", &data, lines, runs, || {
    let mut sketch = HourlySketch::new();
    let mut stream = LineStream::new(65536, Default::default());
    stream.feed(&data, &mut sketch);
    stream.finish(&mut sketch);
    sketch.counters().counted
  });
}

#[allow(dead_code)]
pub fn stages(data: &[u8], lines: u64) {
  let mut rule = loghour::record::RecordRule::new(Default::default());
  measure("stage: split + classify", data, lines, 5, || {
    let mut n = 0u64;
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
      n += rule.classify(&data[start..nl]).slot() as u64;
      start = nl + 1;
    }
    n
  });
}
