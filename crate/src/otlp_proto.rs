//! OTLP's protobuf encoding: a reader of the few fields an `ExportLogsServiceRequest` needs
//! counted, and the two answers (`ExportLogsServiceResponse`, `google.rpc.Status`).
//!
//! Hand-written rather than generated: the request needs nine fields of six messages, read in
//! place from the body (no copies, no allocation per attribute), and a generated decoder would
//! build every record's whole tree first. Field numbers are those of
//! `opentelemetry/proto/{collector/logs,logs,common,resource}/v1/*.proto`.

use crate::otlp::{Body, Decoded, Keys, Picks, Record, Scalar, MAX_DEPTH};

/// Why a body is not an OTLP protobuf message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub &'static str);

/// A protobuf field: its number and its value by wire type.
enum Field<'a> {
  Varint(u64),
  Fixed64(u64),
  Fixed32,
  Bytes(&'a [u8]),
}

/// The fields of one message, in order.
struct Fields<'a> {
  rest: &'a [u8],
}

impl<'a> Fields<'a> {
  fn of(message: &'a [u8]) -> Self {
    Fields { rest: message }
  }

  fn varint(&mut self) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
      let Some((&byte, rest)) = self.rest.split_first() else {
        return Err(WireError("a varint runs past the end of its message"));
      };
      self.rest = rest;
      value |= u64::from(byte & 0x7f) << (7 * i);
      if byte < 0x80 {
        return Ok(value);
      }
    }
    Err(WireError("a varint is longer than 10 bytes"))
  }

  fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
    if n > self.rest.len() {
      return Err(WireError("a field runs past the end of its message"));
    }
    let (taken, rest) = self.rest.split_at(n);
    self.rest = rest;
    Ok(taken)
  }
}

impl<'a> Iterator for Fields<'a> {
  type Item = Result<(u64, Field<'a>), WireError>;

  fn next(&mut self) -> Option<Self::Item> {
    if self.rest.is_empty() {
      return None;
    }
    let field = (|| {
      let tag = self.varint()?;
      let number = tag >> 3;
      if number == 0 {
        return Err(WireError("a field numbered 0"));
      }
      let value = match tag & 7 {
        0 => Field::Varint(self.varint()?),
        1 => Field::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
        2 => {
          let len = self.varint()?;
          Field::Bytes(self.take(usize::try_from(len).unwrap_or(usize::MAX))?)
        }
        5 => {
          self.take(4)?;
          Field::Fixed32
        }
        _ => {
          return Err(WireError(
            "a field of a wire type OTLP does not use (groups or an unknown type)",
          ))
        }
      };
      Ok((number, value))
    })();
    if field.is_err() {
      self.rest = &[]; // one error ends the message
    }
    Some(field)
  }
}

/// The bytes of a length-delimited field, or an error naming what it should have been.
fn bytes<'a>(field: Field<'a>, what: &'static str) -> Result<&'a [u8], WireError> {
  match field {
    Field::Bytes(bytes) => Ok(bytes),
    _ => Err(WireError(what)),
  }
}

/// Reads an `ExportLogsServiceRequest`: every record with its picked attributes, map bodies
/// written as JSON text into `arena`. Nothing is counted here: a body that does not decode is
/// refused whole.
pub fn decode<'a>(body: &'a [u8], keys: &Keys, arena: &mut Vec<u8>) -> Result<Decoded<'a>, WireError> {
  let mut decoded = Decoded::default();
  for field in Fields::of(body) {
    if let (1, value) = field? {
      let resource_logs = bytes(value, "resource_logs is not a message")?;
      resource(resource_logs, keys, arena, &mut decoded)?;
    }
  }
  Ok(decoded)
}

/// One `ResourceLogs`: its resource's attributes, then its scopes' records.
fn resource<'a>(message: &'a [u8], keys: &Keys, arena: &mut Vec<u8>, decoded: &mut Decoded<'a>) -> Result<(), WireError> {
  let mut picks = Picks::default();
  let index = decoded.resources.len();
  // The resource may come after its scopes on the wire: look for it first.
  for field in Fields::of(message) {
    if let (1, value) = field? {
      for field in Fields::of(bytes(value, "resource is not a message")?) {
        if let (1, value) = field? {
          key_value(bytes(value, "an attribute is not a message")?, keys, &mut picks)?;
        }
      }
    }
  }
  decoded.resources.push(picks);
  for field in Fields::of(message) {
    if let (2, value) = field? {
      for field in Fields::of(bytes(value, "scope_logs is not a message")?) {
        if let (2, value) = field? {
          let record = log_record(bytes(value, "a log record is not a message")?, keys, arena, index)?;
          decoded.records.push(record);
        }
      }
    }
  }
  Ok(())
}

/// One `LogRecord`.
fn log_record<'a>(message: &'a [u8], keys: &Keys, arena: &mut Vec<u8>, resource: usize) -> Result<Record<'a>, WireError> {
  let mut record = Record {
    resource,
    ..Record::default()
  };
  for field in Fields::of(message) {
    match field? {
      (1, Field::Fixed64(ns)) => record.time_ns = ns,
      (11, Field::Fixed64(ns)) => record.observed_ns = ns,
      (1 | 11, _) => return Err(WireError("a log record's time is not a fixed64")),
      (5, value) => record.body = body(bytes(value, "a log record's body is not a message")?, arena)?,
      (6, value) => key_value(bytes(value, "an attribute is not a message")?, keys, &mut record.picks)?,
      _ => {}
    }
  }
  Ok(record)
}

/// A `KeyValue` attribute: offered to `picks` when its key is one the mapping reads.
fn key_value<'a>(message: &'a [u8], keys: &Keys, picks: &mut Picks<'a>) -> Result<(), WireError> {
  let mut key: &[u8] = &[];
  let mut value: &[u8] = &[];
  for field in Fields::of(message) {
    match field? {
      (1, field) => key = bytes(field, "an attribute's key is not a string")?,
      (2, field) => value = bytes(field, "an attribute's value is not a message")?,
      _ => {}
    }
  }
  if let Some(slot) = keys.slot_of(key) {
    picks.offer(slot, scalar(value)?);
  }
  Ok(())
}

/// An `AnyValue` read as one scalar (a list or map is [`Scalar::Other`]).
fn scalar(message: &[u8]) -> Result<Scalar<'_>, WireError> {
  let mut value = Scalar::Absent;
  for field in Fields::of(message) {
    value = match field? {
      (1, Field::Bytes(text)) => Scalar::Text(text),
      (2, Field::Varint(b)) => Scalar::Bool(b != 0),
      (3, Field::Varint(i)) => Scalar::Int(i as i64),
      (4, Field::Fixed64(bits)) => Scalar::Double(f64::from_bits(bits)),
      (5..=7, Field::Bytes(_)) => Scalar::Other,
      (1..=7, _) => return Err(WireError("a value's field has the wrong wire type")),
      _ => value,
    };
  }
  Ok(value)
}

/// A record's body: a string (a log line), a map (written as a JSON record into `arena`), or
/// something no reading takes.
fn body<'a>(message: &'a [u8], arena: &mut Vec<u8>) -> Result<Body<'a>, WireError> {
  let mut body = Body::Absent;
  for field in Fields::of(message) {
    body = match field? {
      (1, Field::Bytes(text)) => Body::Text(text),
      (6, Field::Bytes(map)) => {
        let start = arena.len();
        match write_map(map, arena, 0)? {
          true => Body::Map(start..arena.len()),
          false => {
            arena.truncate(start);
            Body::TooDeep
          }
        }
      }
      (2..=5 | 7, _) => Body::Other,
      (1 | 6, _) => return Err(WireError("a body's field has the wrong wire type")),
      _ => body,
    };
  }
  Ok(body)
}

/// Writes a `KeyValueList` as a JSON object; false when it nests deeper than [`MAX_DEPTH`].
fn write_map(message: &[u8], out: &mut Vec<u8>, depth: usize) -> Result<bool, WireError> {
  if depth >= MAX_DEPTH {
    return Ok(false);
  }
  out.push(b'{');
  let mut first = true;
  for field in Fields::of(message) {
    let (1, entry) = field? else { continue };
    let mut key: &[u8] = &[];
    let mut value: &[u8] = &[];
    for field in Fields::of(bytes(entry, "a map entry is not a message")?) {
      match field? {
        (1, field) => key = bytes(field, "a map key is not a string")?,
        (2, field) => value = bytes(field, "a map value is not a message")?,
        _ => {}
      }
    }
    if !first {
      out.push(b',');
    }
    first = false;
    crate::otlp::write_json_string(key, out);
    out.push(b':');
    if !write_value(value, out, depth + 1)? {
      return Ok(false);
    }
  }
  out.push(b'}');
  Ok(true)
}

/// Writes an `AnyValue` as JSON (bytes and an empty value as `null`).
fn write_value(message: &[u8], out: &mut Vec<u8>, depth: usize) -> Result<bool, WireError> {
  let mut last: Option<(u64, Field<'_>)> = None;
  for field in Fields::of(message) {
    let (number, value) = field?;
    if (1..=7).contains(&number) {
      last = Some((number, value));
    }
  }
  match last {
    Some((1, Field::Bytes(text))) => crate::otlp::write_json_string(text, out),
    Some((2, Field::Varint(b))) => out.extend_from_slice(if b != 0 { b"true" } else { b"false" }),
    Some((3, Field::Varint(i))) => out.extend_from_slice((i as i64).to_string().as_bytes()),
    Some((4, Field::Fixed64(bits))) => crate::otlp::write_json_number(f64::from_bits(bits), out),
    Some((5, Field::Bytes(list))) => {
      if depth >= MAX_DEPTH {
        return Ok(false);
      }
      out.push(b'[');
      let mut first = true;
      for field in Fields::of(list) {
        let (1, item) = field? else { continue };
        if !first {
          out.push(b',');
        }
        first = false;
        if !write_value(bytes(item, "a list item is not a message")?, out, depth + 1)? {
          return Ok(false);
        }
      }
      out.push(b']');
    }
    Some((6, Field::Bytes(map))) => return write_map(map, out, depth),
    Some((7, Field::Bytes(_))) | None => out.extend_from_slice(b"null"),
    Some(_) => return Err(WireError("a value's field has the wrong wire type")),
  }
  Ok(true)
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
  while value >= 0x80 {
    out.push(value as u8 | 0x80);
    value >>= 7;
  }
  out.push(value as u8);
}

fn put_bytes(number: u64, bytes: &[u8], out: &mut Vec<u8>) {
  put_varint(number << 3 | 2, out);
  put_varint(bytes.len() as u64, out);
  out.extend_from_slice(bytes);
}

/// An `ExportLogsServiceResponse`: empty when every record was read, else its `partial_success`
/// with the records rejected and why.
///
/// ```
/// assert!(loghour::otlp_proto::export_response(0, "").is_empty());
/// assert_eq!(loghour::otlp_proto::export_response(2, "x"), [0x0a, 5, 0x08, 2, 0x12, 1, b'x']);
/// ```
pub fn export_response(rejected: u64, message: &str) -> Vec<u8> {
  let mut out = Vec::new();
  if rejected == 0 && message.is_empty() {
    return out;
  }
  let mut partial = Vec::new();
  if rejected > 0 {
    put_varint(1 << 3, &mut partial);
    put_varint(rejected, &mut partial);
  }
  if !message.is_empty() {
    put_bytes(2, message.as_bytes(), &mut partial);
  }
  put_bytes(1, &partial, &mut out);
  out
}

/// A `google.rpc.Status` (the body of an OTLP/HTTP error answer): a gRPC code and a message.
pub fn status(code: u32, message: &str) -> Vec<u8> {
  let mut out = Vec::new();
  if code != 0 {
    put_varint(1 << 3, &mut out);
    put_varint(u64::from(code), &mut out);
  }
  if !message.is_empty() {
    put_bytes(2, message.as_bytes(), &mut out);
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn truncated_and_unknown_wire_types_are_errors() {
    let keys = Keys::new(None);
    let mut arena = Vec::new();
    assert!(decode(&[0x0a, 5, 1], &keys, &mut arena).is_err()); // a length past the end
    assert!(decode(&[0x0b], &keys, &mut arena).is_err()); // a group start
    assert!(decode(&[0x08, 0x80], &keys, &mut arena).is_err()); // a varint cut short
    assert!(decode(&[0x0a, 0], &keys, &mut arena).unwrap().records.is_empty());
    // Unknown fields of known wire types are skipped.
    assert!(decode(&[0x10, 1, 0x1a, 1, 0, 0x25, 0, 0, 0, 0], &keys, &mut arena).is_ok());
  }
}
