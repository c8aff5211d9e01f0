//! OTLP's JSON encoding (OTLP/HTTP with `Content-Type: application/json`): the same fields as
//! [`crate::otlp_proto`] reads, by their lowerCamelCase names (the original snake_case names are
//! accepted too, as protobuf's JSON mapping asks of parsers), 64-bit integers as strings or
//! numbers.

use serde_json::{Map, Value};

use crate::otlp::{write_json_number, write_json_string, Body, Decoded, Keys, Picks, Record, Scalar, MAX_DEPTH};

/// Why a body is not an OTLP JSON request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

fn shape<T>(what: &str) -> Result<T, ShapeError> {
  Err(ShapeError(what.to_string()))
}

/// A field by its JSON name or its protobuf name; `null` is absent.
fn field<'v>(object: &'v Map<String, Value>, camel: &str, snake: &str) -> Option<&'v Value> {
  object.get(camel).or_else(|| object.get(snake)).filter(|v| !v.is_null())
}

/// A repeated field: absent is empty; anything but an array is an error.
fn list<'v>(object: &'v Map<String, Value>, camel: &str, snake: &str) -> Result<&'v [Value], ShapeError> {
  match field(object, camel, snake) {
    None => Ok(&[]),
    Some(Value::Array(items)) => Ok(items),
    Some(_) => shape(&format!("{camel} is not an array")),
  }
}

fn object<'v>(value: &'v Value, what: &str) -> Result<&'v Map<String, Value>, ShapeError> {
  value
    .as_object()
    .map_or_else(|| shape(&format!("{what} is not an object")), Ok)
}

/// Parses an `ExportLogsServiceRequest` in JSON (`value` is the parsed body).
pub fn decode<'a>(value: &'a Value, keys: &Keys, arena: &mut Vec<u8>) -> Result<Decoded<'a>, ShapeError> {
  let mut decoded = Decoded::default();
  for resource_logs in list(object(value, "the request")?, "resourceLogs", "resource_logs")? {
    let resource_logs = object(resource_logs, "a resourceLogs item")?;
    let mut picks = Picks::default();
    if let Some(resource) = field(resource_logs, "resource", "resource") {
      attributes(object(resource, "resource")?, keys, &mut picks)?;
    }
    let index = decoded.resources.len();
    decoded.resources.push(picks);
    for scope_logs in list(resource_logs, "scopeLogs", "scope_logs")? {
      for record in list(object(scope_logs, "a scopeLogs item")?, "logRecords", "log_records")? {
        decoded
          .records
          .push(log_record(object(record, "a log record")?, keys, arena, index)?);
      }
    }
  }
  Ok(decoded)
}

fn log_record<'a>(
  record: &'a Map<String, Value>,
  keys: &Keys,
  arena: &mut Vec<u8>,
  resource: usize,
) -> Result<Record<'a>, ShapeError> {
  let mut out = Record {
    resource,
    time_ns: nanos(field(record, "timeUnixNano", "time_unix_nano"))?,
    observed_ns: nanos(field(record, "observedTimeUnixNano", "observed_time_unix_nano"))?,
    ..Record::default()
  };
  attributes(record, keys, &mut out.picks)?;
  if let Some(body) = field(record, "body", "body") {
    out.body = match any(object(body, "a body")?) {
      Some(("stringValue", Value::String(text))) => Body::Text(text.as_bytes()),
      Some(("kvlistValue", map)) => {
        let start = arena.len();
        if write_value_map(map, arena, 0)? {
          Body::Map(start..arena.len())
        } else {
          arena.truncate(start);
          Body::TooDeep
        }
      }
      Some(("stringValue", _)) => return shape("a body's stringValue is not a string"),
      Some(_) => Body::Other,
      None => Body::Absent,
    };
  }
  Ok(out)
}

/// A `fixed64` time: a string of digits or a number; absent is 0.
fn nanos(value: Option<&Value>) -> Result<u64, ShapeError> {
  match value {
    None => Ok(0),
    Some(Value::String(digits)) => digits.parse().or_else(|_| shape("a time is not an unsigned 64-bit integer")),
    Some(Value::Number(n)) => n
      .as_u64()
      .map_or_else(|| shape("a time is not an unsigned 64-bit integer"), Ok),
    Some(_) => shape("a time is not a string or a number"),
  }
}

/// Offers an object's `attributes` to `picks`.
fn attributes<'a>(object_: &'a Map<String, Value>, keys: &Keys, picks: &mut Picks<'a>) -> Result<(), ShapeError> {
  for attribute in list(object_, "attributes", "attributes")? {
    let attribute = object(attribute, "an attribute")?;
    let Some(Value::String(key)) = attribute.get("key") else {
      return shape("an attribute's key is not a string");
    };
    if let Some(slot) = keys.slot_of(key.as_bytes()) {
      let value = match field(attribute, "value", "value") {
        Some(value) => scalar(object(value, "an attribute's value")?)?,
        None => Scalar::Absent,
      };
      picks.offer(slot, value);
    }
  }
  Ok(())
}

/// The one field an `AnyValue` object sets, by its camelCase name.
fn any(value: &Map<String, Value>) -> Option<(&'static str, &Value)> {
  const KINDS: [(&str, &str); 7] = [
    ("stringValue", "string_value"),
    ("boolValue", "bool_value"),
    ("intValue", "int_value"),
    ("doubleValue", "double_value"),
    ("arrayValue", "array_value"),
    ("kvlistValue", "kvlist_value"),
    ("bytesValue", "bytes_value"),
  ];
  KINDS
    .iter()
    .find_map(|(camel, snake)| field(value, camel, snake).map(|v| (*camel, v)))
}

fn scalar(value: &Map<String, Value>) -> Result<Scalar<'_>, ShapeError> {
  Ok(match any(value) {
    Some(("stringValue", Value::String(text))) => Scalar::Text(text.as_bytes()),
    Some(("intValue", Value::String(digits))) => digits.parse().map_or(Scalar::Other, Scalar::Int),
    Some(("intValue", Value::Number(n))) => n.as_i64().map_or(Scalar::Other, Scalar::Int),
    Some(("doubleValue", Value::Number(n))) => n.as_f64().map_or(Scalar::Other, Scalar::Double),
    Some(("boolValue", Value::Bool(b))) => Scalar::Bool(*b),
    Some(("stringValue" | "intValue" | "doubleValue" | "boolValue", _)) => return shape("a value does not have its kind's type"),
    Some(_) => Scalar::Other,
    None => Scalar::Absent,
  })
}

/// Writes a `KeyValueList` object (`{"values":[…]}`) as a JSON object; false past [`MAX_DEPTH`].
fn write_value_map(map: &Value, out: &mut Vec<u8>, depth: usize) -> Result<bool, ShapeError> {
  if depth >= MAX_DEPTH {
    return Ok(false);
  }
  out.push(b'{');
  for (i, entry) in list(object(map, "a kvlistValue")?, "values", "values")?.iter().enumerate() {
    let entry = object(entry, "a map entry")?;
    let Some(Value::String(key)) = entry.get("key") else {
      return shape("a map key is not a string");
    };
    if i > 0 {
      out.push(b',');
    }
    write_json_string(key.as_bytes(), out);
    out.push(b':');
    let written = match field(entry, "value", "value") {
      Some(value) => write_value(object(value, "a map value")?, out, depth + 1)?,
      None => {
        out.extend_from_slice(b"null");
        true
      }
    };
    if !written {
      return Ok(false);
    }
  }
  out.push(b'}');
  Ok(true)
}

/// Writes an `AnyValue` object as JSON (bytes and an empty value as `null`).
fn write_value(value: &Map<String, Value>, out: &mut Vec<u8>, depth: usize) -> Result<bool, ShapeError> {
  match any(value) {
    Some(("stringValue", Value::String(text))) => write_json_string(text.as_bytes(), out),
    Some(("boolValue", Value::Bool(b))) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
    Some(("intValue", Value::String(digits))) if digits.parse::<i64>().is_ok() => out.extend_from_slice(digits.as_bytes()),
    Some(("intValue", Value::Number(n))) if n.is_i64() => out.extend_from_slice(n.to_string().as_bytes()),
    Some(("doubleValue", Value::Number(n))) => write_json_number(n.as_f64().unwrap_or(f64::NAN), out),
    Some(("arrayValue", list_)) => {
      if depth >= MAX_DEPTH {
        return Ok(false);
      }
      out.push(b'[');
      for (i, item) in list(object(list_, "an arrayValue")?, "values", "values")?.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        if !write_value(object(item, "a list item")?, out, depth + 1)? {
          return Ok(false);
        }
      }
      out.push(b']');
    }
    Some(("kvlistValue", map)) => return write_value_map(map, out, depth),
    Some(("bytesValue", _)) | None => out.extend_from_slice(b"null"),
    Some(_) => return shape("a value does not have its kind's type"),
  }
  Ok(true)
}
