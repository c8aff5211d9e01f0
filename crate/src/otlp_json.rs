//! OTLP's JSON encoding (OTLP/HTTP with `Content-Type: application/json`): the same fields as
//! [`crate::otlp_proto`] reads, by their lowerCamelCase names (the original snake_case names are
//! accepted too, as protobuf's JSON mapping asks of parsers), 64-bit integers as strings or
//! numbers, `null` as absent. Strings are borrowed from the body where they have no escapes, so a
//! record costs no allocation but its attribute lists'.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use crate::otlp::{write_json_number, write_json_string, Body, Decoded, Keys, Picks, Record, Scalar, MAX_DEPTH};

/// Why a body is not an OTLP JSON request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

/// Parses an `ExportLogsServiceRequest` in JSON (strings borrowed from `body` where they have no
/// escapes); [`decode`] then reads it.
pub fn parse(body: &[u8]) -> Result<Request<'_>, ShapeError> {
  serde_json::from_slice(body).map_err(|e| ShapeError(e.to_string()))
}

/// Every record of a parsed request with its picked attributes, map bodies written as JSON records
/// into `arena`.
pub fn decode<'a>(request: &'a Request<'_>, keys: &Keys, arena: &mut Vec<u8>) -> Decoded<'a> {
  let mut decoded = Decoded::default();
  for resource_logs in request.resource_logs.iter().flatten() {
    let mut picks = Picks::default();
    for attribute in resource_logs.resource.iter().flat_map(|r| r.attributes.iter().flatten()) {
      offer(attribute, keys, &mut picks);
    }
    let index = decoded.resources.len();
    decoded.resources.push(picks);
    for scope_logs in resource_logs.scope_logs.iter().flatten() {
      for record in scope_logs.log_records.iter().flatten() {
        decoded.records.push(log_record(record, keys, arena, index));
      }
    }
  }
  decoded
}

fn log_record<'a>(record: &'a LogRecord<'_>, keys: &Keys, arena: &mut Vec<u8>, resource: usize) -> Record<'a> {
  let mut out = Record {
    resource,
    time_ns: record.time_unix_nano.as_ref().map_or(0, |t| t.0),
    observed_ns: record.observed_time_unix_nano.as_ref().map_or(0, |t| t.0),
    ..Record::default()
  };
  for attribute in record.attributes.iter().flatten() {
    offer(attribute, keys, &mut out.picks);
  }
  out.body = match &record.body {
    None => Body::Absent,
    Some(AnyValue {
      string_value: Some(text),
      ..
    }) => Body::Text(text.as_bytes()),
    Some(AnyValue {
      kvlist_value: Some(map), ..
    }) => {
      let start = arena.len();
      if write_map(map, arena, 0) {
        Body::Map(start..arena.len())
      } else {
        arena.truncate(start);
        Body::TooDeep
      }
    }
    Some(value) if value.is_empty() => Body::Absent,
    Some(_) => Body::Other,
  };
  out
}

/// Offers an attribute to `picks` when its key is one the mapping reads.
fn offer<'a>(attribute: &'a KeyValue<'_>, keys: &Keys, picks: &mut Picks<'a>) {
  let Some(slot) = keys.slot_of(attribute.key.as_bytes()) else {
    return;
  };
  let value = match &attribute.value {
    None => Scalar::Absent,
    Some(AnyValue {
      string_value: Some(text),
      ..
    }) => Scalar::Text(text.as_bytes()),
    Some(AnyValue { int_value: Some(n), .. }) => n.0.map_or(Scalar::Other, Scalar::Int),
    Some(AnyValue {
      double_value: Some(n), ..
    }) => Scalar::Double(n.0),
    Some(AnyValue { bool_value: Some(b), .. }) => Scalar::Bool(*b),
    Some(value) if value.is_empty() => Scalar::Absent,
    Some(_) => Scalar::Other,
  };
  picks.offer(slot, value);
}

/// Writes a `KeyValueList` as a JSON object; false past [`MAX_DEPTH`].
fn write_map(map: &KvList<'_>, out: &mut Vec<u8>, depth: usize) -> bool {
  if depth >= MAX_DEPTH {
    return false;
  }
  out.push(b'{');
  for (i, entry) in map.values.iter().flatten().enumerate() {
    if i > 0 {
      out.push(b',');
    }
    write_json_string(entry.key.as_bytes(), out);
    out.push(b':');
    let written = match &entry.value {
      Some(value) => write_value(value, out, depth + 1),
      None => {
        out.extend_from_slice(b"null");
        true
      }
    };
    if !written {
      return false;
    }
  }
  out.push(b'}');
  true
}

/// Writes an `AnyValue` as JSON (bytes and an empty value as `null`).
fn write_value(value: &AnyValue<'_>, out: &mut Vec<u8>, depth: usize) -> bool {
  if let Some(text) = &value.string_value {
    write_json_string(text.as_bytes(), out);
  } else if let Some(b) = value.bool_value {
    out.extend_from_slice(if b { b"true" } else { b"false" });
  } else if let Some(n) = &value.int_value {
    match n.0 {
      Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
      None => out.extend_from_slice(b"null"),
    }
  } else if let Some(n) = &value.double_value {
    write_json_number(n.0, out);
  } else if let Some(list) = &value.array_value {
    if depth >= MAX_DEPTH {
      return false;
    }
    out.push(b'[');
    for (i, item) in list.values.iter().flatten().enumerate() {
      if i > 0 {
        out.push(b',');
      }
      if !write_value(item, out, depth + 1) {
        return false;
      }
    }
    out.push(b']');
  } else if let Some(map) = &value.kvlist_value {
    return write_map(map, out, depth);
  } else {
    out.extend_from_slice(b"null");
  }
  true
}

// The request's shape. Every field is optional: absent and `null` are the protobuf default.

/// A parsed request (see [`parse`]).
#[derive(Deserialize)]
pub struct Request<'a> {
  #[serde(borrow, rename = "resourceLogs", alias = "resource_logs")]
  resource_logs: Option<Vec<ResourceLogs<'a>>>,
}

#[derive(Deserialize)]
struct ResourceLogs<'a> {
  #[serde(borrow)]
  resource: Option<Resource<'a>>,
  #[serde(borrow, rename = "scopeLogs", alias = "scope_logs")]
  scope_logs: Option<Vec<ScopeLogs<'a>>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
  #[serde(borrow)]
  attributes: Option<Vec<KeyValue<'a>>>,
}

#[derive(Deserialize)]
struct ScopeLogs<'a> {
  #[serde(borrow, rename = "logRecords", alias = "log_records")]
  log_records: Option<Vec<LogRecord<'a>>>,
}

#[derive(Deserialize)]
struct LogRecord<'a> {
  #[serde(rename = "timeUnixNano", alias = "time_unix_nano")]
  time_unix_nano: Option<Nanos>,
  #[serde(rename = "observedTimeUnixNano", alias = "observed_time_unix_nano")]
  observed_time_unix_nano: Option<Nanos>,
  #[serde(borrow)]
  body: Option<AnyValue<'a>>,
  #[serde(borrow)]
  attributes: Option<Vec<KeyValue<'a>>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
  #[serde(borrow)]
  key: Cow<'a, str>,
  #[serde(borrow)]
  value: Option<AnyValue<'a>>,
}

#[derive(Deserialize)]
struct KvList<'a> {
  #[serde(borrow)]
  values: Option<Vec<KeyValue<'a>>>,
}

#[derive(Deserialize)]
struct List<'a> {
  #[serde(borrow)]
  values: Option<Vec<AnyValue<'a>>>,
}

#[derive(Deserialize)]
struct AnyValue<'a> {
  #[serde(borrow, rename = "stringValue", alias = "string_value")]
  string_value: Option<Cow<'a, str>>,
  #[serde(rename = "boolValue", alias = "bool_value")]
  bool_value: Option<bool>,
  #[serde(rename = "intValue", alias = "int_value")]
  int_value: Option<Int>,
  #[serde(rename = "doubleValue", alias = "double_value")]
  double_value: Option<Double>,
  #[serde(borrow, rename = "arrayValue", alias = "array_value")]
  array_value: Option<List<'a>>,
  #[serde(borrow, rename = "kvlistValue", alias = "kvlist_value")]
  kvlist_value: Option<KvList<'a>>,
  #[serde(rename = "bytesValue", alias = "bytes_value")]
  bytes_value: Option<IgnoredAny>,
}

impl AnyValue<'_> {
  /// No field set (`{}`: what an SDK sends for a record without a body).
  fn is_empty(&self) -> bool {
    self.string_value.is_none()
      && self.bool_value.is_none()
      && self.int_value.is_none()
      && self.double_value.is_none()
      && self.array_value.is_none()
      && self.kvlist_value.is_none()
      && self.bytes_value.is_none()
  }
}

/// A 64-bit integer as a number or a string of digits (`None`: another string, read as no integer).
struct Int(Option<i64>);

impl<'de> Deserialize<'de> for Int {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
    struct V;
    impl Visitor<'_> for V {
      type Value = Int;
      fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or a string of one")
      }
      fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
        Ok(Int(Some(v)))
      }
      fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
        Ok(Int(i64::try_from(v).ok()))
      }
      fn visit_f64<E: de::Error>(self, _: f64) -> Result<Int, E> {
        Ok(Int(None))
      }
      fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
        Ok(Int(v.parse().ok()))
      }
    }
    deserializer.deserialize_any(V)
  }
}

/// A double as a number, or one of the strings protobuf's JSON mapping writes (`"NaN"`, `"Infinity"`).
struct Double(f64);

impl<'de> Deserialize<'de> for Double {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
    struct V;
    impl Visitor<'_> for V {
      type Value = Double;
      fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
      }
      fn visit_f64<E: de::Error>(self, v: f64) -> Result<Double, E> {
        Ok(Double(v))
      }
      fn visit_i64<E: de::Error>(self, v: i64) -> Result<Double, E> {
        Ok(Double(v as f64))
      }
      fn visit_u64<E: de::Error>(self, v: u64) -> Result<Double, E> {
        Ok(Double(v as f64))
      }
      fn visit_str<E: de::Error>(self, v: &str) -> Result<Double, E> {
        Ok(Double(v.parse().unwrap_or(f64::NAN)))
      }
    }
    deserializer.deserialize_any(V)
  }
}

/// A `fixed64` time: a string of digits or a number.
struct Nanos(u64);

impl<'de> Deserialize<'de> for Nanos {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
    struct V;
    impl Visitor<'_> for V {
      type Value = Nanos;
      fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an unsigned 64-bit integer, or a string of one")
      }
      fn visit_u64<E: de::Error>(self, v: u64) -> Result<Nanos, E> {
        Ok(Nanos(v))
      }
      fn visit_str<E: de::Error>(self, v: &str) -> Result<Nanos, E> {
        v.parse()
          .map(Nanos)
          .map_err(|_| E::custom("a time is not an unsigned 64-bit integer"))
      }
    }
    deserializer.deserialize_any(V)
  }
}
