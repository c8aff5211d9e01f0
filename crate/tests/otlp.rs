//! OTLP requests against a model: random requests are written in protobuf (by an encoder of this
//! test, from the .proto field numbers) and in JSON (serde_json), decoded by the crate, counted,
//! and compared with each record classified directly by the counting rule.

use loghour::groups::NONE;
use loghour::otlp::{count, Keys};
use loghour::outcome::{LineCounts, Outcome};
use loghour::record::{RecordRule, RuleOptions};
use loghour::sketch::{DedupCollector, HourlySketch, OutcomeSink};
use loghour::{otlp_json, otlp_proto};
use serde_json::{json, Value};

/// An attribute or body value.
#[derive(Clone, Debug)]
enum V {
  Str(String),
  Int(i64),
  Map(Vec<(String, V)>),
}

#[derive(Clone, Debug, Default)]
struct Rec {
  time_ns: u64,
  observed_ns: u64,
  attrs: Vec<(String, V)>,
  body: Option<V>,
}

/// Attributes, by key.
type Attrs = Vec<(String, V)>;

struct Req {
  resources: Vec<(Attrs, Vec<Rec>)>,
}

// --- protobuf, written from the .proto files' field numbers ---
fn varint(mut v: u64, out: &mut Vec<u8>) {
  while v >= 0x80 {
    out.push(v as u8 | 0x80);
    v >>= 7;
  }
  out.push(v as u8);
}
fn len_field(n: u64, bytes: &[u8], out: &mut Vec<u8>) {
  varint(n << 3 | 2, out);
  varint(bytes.len() as u64, out);
  out.extend_from_slice(bytes);
}
fn any_pb(v: &V) -> Vec<u8> {
  let mut out = Vec::new();
  match v {
    V::Str(s) => len_field(1, s.as_bytes(), &mut out),
    V::Int(i) => {
      varint(3 << 3, &mut out);
      varint(*i as u64, &mut out);
    }
    V::Map(entries) => {
      let mut list = Vec::new();
      for (k, v) in entries {
        len_field(1, &kv_pb(k, v), &mut list);
      }
      len_field(6, &list, &mut out);
    }
  }
  out
}
fn kv_pb(k: &str, v: &V) -> Vec<u8> {
  let mut out = Vec::new();
  // The value first now and then: fields may come in any order.
  if k.len() % 2 == 0 {
    len_field(2, &any_pb(v), &mut out);
    len_field(1, k.as_bytes(), &mut out);
  } else {
    len_field(1, k.as_bytes(), &mut out);
    len_field(2, &any_pb(v), &mut out);
  }
  out
}
fn request_pb(req: &Req) -> Vec<u8> {
  let mut out = Vec::new();
  for (attrs, records) in &req.resources {
    let mut rl = Vec::new();
    let mut scope = Vec::new();
    len_field(1, &[0x0a, 1, b's'], &mut scope); // an instrumentation scope, skipped
    for r in records {
      let mut m = Vec::new();
      varint(2 << 3, &mut m); // severity_number
      varint(9, &mut m);
      if r.time_ns != 0 {
        varint(1 << 3 | 1, &mut m);
        m.extend_from_slice(&r.time_ns.to_le_bytes());
      }
      for (k, v) in &r.attrs {
        len_field(6, &kv_pb(k, v), &mut m);
      }
      if let Some(body) = &r.body {
        len_field(5, &any_pb(body), &mut m);
      }
      if r.observed_ns != 0 {
        varint(11 << 3 | 1, &mut m);
        m.extend_from_slice(&r.observed_ns.to_le_bytes());
      }
      len_field(9, &[7; 16], &mut m); // trace_id
      len_field(2, &m, &mut scope);
    }
    len_field(2, &scope, &mut rl);
    // The resource after its scopes: the decoder may not assume an order.
    let mut resource = Vec::new();
    for (k, v) in attrs {
      len_field(1, &kv_pb(k, v), &mut resource);
    }
    len_field(1, &resource, &mut rl);
    len_field(1, &rl, &mut out);
  }
  out
}

// --- JSON, OTLP's encoding ---
fn any_json(v: &V) -> Value {
  match v {
    V::Str(s) => json!({ "stringValue": s }),
    V::Int(i) => json!({ "intValue": i.to_string() }),
    V::Map(entries) => json!({ "kvlistValue": { "values": entries.iter().map(|(k, v)| kv_json(k, v)).collect::<Vec<_>>() } }),
  }
}
fn kv_json(k: &str, v: &V) -> Value {
  json!({ "key": k, "value": any_json(v) })
}
fn request_json(req: &Req) -> Value {
  let resource_logs: Vec<Value> = req
    .resources
    .iter()
    .map(|(attrs, records)| {
      let records: Vec<Value> = records
        .iter()
        .map(|r| {
          let mut o = json!({
            "timeUnixNano": r.time_ns.to_string(),
            "observedTimeUnixNano": r.observed_ns.to_string(),
            "attributes": r.attrs.iter().map(|(k, v)| kv_json(k, v)).collect::<Vec<_>>(),
            "traceId": "07070707070707070707070707070707",
          });
          if let Some(body) = &r.body {
            o["body"] = any_json(body);
          }
          o
        })
        .collect();
      json!({
        "resource": { "attributes": attrs.iter().map(|(k, v)| kv_json(k, v)).collect::<Vec<_>>() },
        "scopeLogs": [{ "scope": { "name": "s" }, "logRecords": records }],
      })
    })
    .collect();
  json!({ "resourceLogs": resource_logs })
}

// --- the model: each record classified directly ---
fn plain_json(v: &V) -> Value {
  match v {
    V::Str(s) => json!(s),
    V::Int(i) => json!(i),
    V::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), plain_json(v))).collect()),
  }
}

fn pick<'a>(attrs: &'a [(String, V)], keys: &[&str]) -> Option<&'a V> {
  keys
    .iter()
    .find_map(|key| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v))
}

const STATUS: [&str; 2] = ["http.response.status_code", "http.status_code"];
const CLIENT: [&str; 5] = [
  "client.address",
  "http.client_ip",
  "net.sock.peer.addr",
  "net.peer.ip",
  "network.peer.address",
];

fn model(req: &Req, options: &RuleOptions) -> DedupCollector {
  let mut rule = RecordRule::new(options.clone());
  let mut out = DedupCollector::default();
  for (resource, records) in &req.resources {
    for r in records {
      let status = pick(&r.attrs, &STATUS).or_else(|| pick(resource, &STATUS));
      let client = pick(&r.attrs, &CLIENT).or_else(|| pick(resource, &CLIENT));
      let outcome = match (status, client, &r.body) {
        (Some(status), Some(V::Str(ip)), _) => {
          let status = match status {
            V::Int(i) if *i >= 0 => *i as u32,
            V::Str(s) if s.parse::<u32>().is_ok() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().unwrap(),
            _ => {
              out.outcome(Outcome::Invalid(loghour::outcome::Reason::WrongType));
              continue;
            }
          };
          let ns = if r.time_ns != 0 { r.time_ns } else { r.observed_ns };
          if ns == 0 {
            Outcome::Invalid(loghour::outcome::Reason::MissingField)
          } else {
            // A dual-stack socket's IPv4 client (`::ffff:a.b.c.d`) is its IPv4 address.
            let ip = ip.strip_prefix("::ffff:").unwrap_or(ip);
            rule.classify_request((ns / 1_000_000_000 * 1000) as f64, ip.as_bytes(), status)
          }
        }
        (Some(_), Some(_), _) => Outcome::Invalid(loghour::outcome::Reason::WrongType),
        (_, _, Some(V::Str(line))) => rule.classify(line.as_bytes()),
        (_, _, Some(map @ V::Map(_))) => rule.classify(plain_json(map).to_string().as_bytes()),
        (_, _, Some(V::Int(_))) => Outcome::Invalid(loghour::outcome::Reason::WrongType),
        (_, _, None) => Outcome::Invalid(loghour::outcome::Reason::MissingField),
      };
      out.outcome(outcome);
    }
  }
  out
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
  fn next(&mut self) -> u64 {
    self.0 ^= self.0 >> 12;
    self.0 ^= self.0 << 25;
    self.0 ^= self.0 >> 27;
    self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
  }
  fn below(&mut self, n: u64) -> u64 {
    self.next() % n
  }
  fn of<'a, T>(&mut self, items: &'a [T]) -> &'a T {
    &items[self.below(items.len() as u64) as usize]
  }
}

/// Monday 2019-05-06 00:00:00 UTC, in seconds.
const MONDAY: u64 = 1_557_100_800;

fn random_request(rng: &mut Rng) -> Req {
  let statuses = [
    V::Int(500),
    V::Int(503),
    V::Int(200),
    V::Str("502".into()),
    V::Str("5x".into()),
    V::Int(-1),
  ];
  let resources = (0..1 + rng.below(3))
    .map(|_| {
      let mut attrs = vec![("service.name".to_string(), V::Str(rng.of(&["shop", "api"]).to_string()))];
      if rng.below(4) == 0 {
        attrs.push((rng.of(&CLIENT).to_string(), V::Str(format!("10.9.0.{}", rng.below(5)))));
      }
      let records = (0..rng.below(12))
        .map(|_| {
          let secs = MONDAY + rng.below(7 * 86_400);
          let ip = format!("10.0.0.{}", rng.below(40));
          let status = rng.of(&statuses).clone();
          let mut r = Rec::default();
          if rng.below(5) == 0 {
            r.observed_ns = secs * 1_000_000_000 + rng.below(1_000_000_000);
          } else {
            r.time_ns = secs * 1_000_000_000 + rng.below(1_000_000_000);
          }
          let wall = {
            let (d, s) = (secs / 86_400, secs % 86_400);
            format!(
              "2019-05-{:02} {:02}:{:02}:{:02}",
              6 + d - 18_022,
              s / 3600,
              s / 60 % 60,
              s % 60
            )
          };
          match rng.below(5) {
            0 | 1 => {
              if rng.below(8) != 0 {
                r.attrs.push((rng.of(&STATUS).to_string(), status));
              }
              if rng.below(8) != 0 {
                let ip = if rng.below(4) == 0 { format!("::ffff:{ip}") } else { ip };
                r.attrs.push((rng.of(&CLIENT).to_string(), V::Str(ip)));
              }
              if rng.below(3) == 0 {
                r.attrs.push(("http.route".into(), V::Str("/a/{id}".into())));
              }
            }
            2 => {
              let code = if let V::Int(i) = status { i } else { 500 };
              r.body = Some(V::Str(format!(r#"{{"time":"{wall}","ip":"{ip}","status_code":{code}}}"#)));
            }
            3 => {
              let code = if let V::Int(i) = status { i } else { 502 };
              r.body = Some(V::Map(vec![
                ("time".into(), V::Str(wall)),
                ("ip".into(), V::Str(ip)),
                ("status_code".into(), V::Int(code)),
              ]));
            }
            _ => r.body = rng.of(&[None, Some(V::Int(1)), Some(V::Str("not a record".into()))]).clone(),
          }
          r
        })
        .collect();
      (attrs, records)
    })
    .collect();
  Req { resources }
}

fn counted(collector: DedupCollector) -> (LineCounts, Vec<(u8, u64)>) {
  let mut pairs: Vec<(u8, u64)> = collector
    .hours
    .iter()
    .copied()
    .zip(collector.hashes.iter().copied())
    .collect();
  pairs.sort_unstable();
  (collector.counts, pairs)
}

fn lines(c: &LineCounts) -> (u64, u64, u64, u64) {
  (c.total(), c.counted(), c.skipped(), c.blank())
}

#[test]
fn random_requests_count_as_the_model_in_both_encodings() {
  let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
  let options = RuleOptions::default();
  let keys = Keys::new(None);
  for case in 0..400 {
    let req = random_request(&mut rng);
    let (want_counts, want) = counted(model(&req, &options));
    let pb = request_pb(&req);
    let json = request_json(&req);
    for (name, got) in [
      ("protobuf", {
        let mut arena = Vec::new();
        let decoded = otlp_proto::decode(&pb, &keys, &mut arena).unwrap();
        let mut sink = DedupCollector::default();
        count(&decoded, &arena, &options, 1 << 16, &mut sink);
        counted(sink)
      }),
      ("json", {
        let mut arena = Vec::new();
        let text = serde_json::to_vec(&json).unwrap();
        let request = otlp_json::parse(&text).unwrap();
        let decoded = otlp_json::decode(&request, &keys, &mut arena);
        let mut sink = DedupCollector::default();
        count(&decoded, &arena, &options, 1 << 16, &mut sink);
        counted(sink)
      }),
    ] {
      assert_eq!(got.1, want, "case {case} ({name}): counted elements");
      assert_eq!(lines(&got.0), lines(&want_counts), "case {case} ({name}): line counts");
      for reason in loghour::outcome::Reason::ALL {
        assert_eq!(
          got.0.invalid(reason),
          want_counts.invalid(reason),
          "case {case} ({name}): {reason:?}"
        );
      }
    }
  }
}

#[test]
fn every_cut_of_a_request_decodes_or_is_refused_without_panicking() {
  let mut rng = Rng(7);
  let keys = Keys::new(Some(b"service.name"));
  for _ in 0..30 {
    let pb = request_pb(&random_request(&mut rng));
    for end in 0..pb.len() {
      let mut arena = Vec::new();
      let _ = otlp_proto::decode(&pb[..end], &keys, &mut arena);
      let mut flipped = pb.clone();
      flipped[end] ^= 1 << rng.below(8);
      let _ = otlp_proto::decode(&flipped, &keys, &mut arena);
    }
  }
}

#[test]
fn a_body_nested_past_the_limit_is_one_unreadable_record() {
  // Written inside out, without recursion: {"a":{"a":…"x"…}} 20,000 maps deep.
  let mut value = any_pb(&V::Str("x".into()));
  for _ in 0..20_000 {
    let mut list = Vec::new();
    len_field(
      1,
      &kv_pb("a", &V::Int(0))
        .into_iter()
        .take(3)
        .chain(encode_value(&value))
        .collect::<Vec<_>>(),
      &mut list,
    );
    value.clear();
    len_field(6, &list, &mut value);
  }
  let mut record = Vec::new();
  varint(1 << 3 | 1, &mut record);
  record.extend_from_slice(&(MONDAY * 1_000_000_000).to_le_bytes());
  len_field(5, &value, &mut record);
  let (mut scope, mut rl, mut pb) = (Vec::new(), Vec::new(), Vec::new());
  len_field(2, &record, &mut scope);
  len_field(2, &scope, &mut rl);
  len_field(1, &rl, &mut pb);
  let mut arena = Vec::new();
  let decoded = otlp_proto::decode(&pb, &Keys::new(None), &mut arena).unwrap();
  let mut sink = DedupCollector::default();
  count(&decoded, &arena, &RuleOptions::default(), 1 << 16, &mut sink);
  assert_eq!(sink.counts.invalid(loghour::outcome::Reason::Json), 1);
  assert_eq!(sink.counts.total(), 1);
}

/// A KeyValue's value field (2) holding `value`.
fn encode_value(value: &[u8]) -> Vec<u8> {
  let mut out = Vec::new();
  len_field(2, value, &mut out);
  out
}

#[test]
fn records_are_grouped_by_their_or_their_resource_attribute() {
  let ns = (MONDAY + 17 * 3600) * 1_000_000_000;
  let attr_record = |ip: &str, route: Option<&str>| Rec {
    time_ns: ns,
    attrs: [
      ("http.response.status_code".to_string(), V::Int(503)),
      ("client.address".to_string(), V::Str(ip.into())),
    ]
    .into_iter()
    .chain(route.map(|r| ("service.name".to_string(), V::Str(r.into()))))
    .collect(),
    ..Rec::default()
  };
  let line = |ip: &str| Rec {
    body: Some(V::Str(format!(
      r#"{{"time":"2019-05-06 17:00:00","ip":"{ip}","status_code":500}}"#
    ))),
    ..Rec::default()
  };
  let req = Req {
    resources: vec![
      (
        vec![("service.name".into(), V::Str("shop".into()))],
        vec![attr_record("a", None), attr_record("b", Some("cart")), line("c")],
      ),
      (vec![], vec![attr_record("d", None), line("e")]),
    ],
  };
  let options = RuleOptions {
    group_by: Some(b"service.name".to_vec()),
    ..RuleOptions::default()
  };
  let mut arena = Vec::new();
  let pb = request_pb(&req);
  let decoded = otlp_proto::decode(&pb, &Keys::new(Some(b"service.name")), &mut arena).unwrap();
  let mut sketch = HourlySketch::new().with_groups(10);
  count(&decoded, &arena, &options, 1 << 16, &mut sketch);
  let mut groups: Vec<(String, u64)> = sketch
    .groups()
    .unwrap()
    .counts()
    .into_iter()
    .map(|g| (String::from_utf8(g.value).unwrap(), g.hours[17]))
    .collect();
  groups.sort();
  let none = String::from_utf8(NONE.to_vec()).unwrap();
  assert_eq!(groups, [(none, 2), ("cart".to_string(), 1), ("shop".to_string(), 2)]);
  assert_eq!(sketch.count(17), 5);
}
