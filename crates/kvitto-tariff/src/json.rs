//! The JSON boundary: a reader that keeps numbers as their exact text, and writers for decimals
//! and timestamps.
//!
//! OCPI sends decimals as JSON numbers. `serde_json` turns numbers into `f64` unless the
//! workspace-wide `arbitrary_precision` feature is on, so the reader first splits a document into
//! `RawValue` pieces and parses each number's text straight into a [`Decimal`]. The same trick in
//! reverse writes a decimal as a raw JSON number. Parse errors name the offending field by its path,
//! e.g. `elements[1].price_components[0].step_size: expected a positive integer`.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Error as _, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::limits::{MAX_JSON_BYTES, MAX_JSON_DEPTH};

/// Why a tariff or CDR document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text is not JSON at all.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// The document is larger than [`MAX_JSON_BYTES`].
    #[error("document is {len} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the rejected document.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field is missing, has the wrong type, or holds a value OCPI does not allow.
    #[error("{path}: {message}")]
    Field {
        /// Path of the field, e.g. `elements[1].price_components[0].step_size`.
        path: String,
        /// What was expected.
        message: String,
    },
}

impl ParseError {
    pub(crate) fn field(path: impl Into<String>, message: impl Into<String>) -> ParseError {
        ParseError::Field {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The path of the offending field, if the error is about one field.
    pub fn path(&self) -> Option<&str> {
        match self {
            ParseError::Field { path, .. } => Some(path),
            ParseError::Syntax(_) | ParseError::TooLarge { .. } => None,
        }
    }
}

/// A parsed document together with the fields the parser did not know.
///
/// Unknown fields are tolerated (OCPI parties add their own) but reported, as paths like
/// `elements[0].restrictions.x_custom`, so an operator can see what was ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// The typed value.
    pub value: T,
    /// Paths of fields that were present but ignored.
    pub unknown_fields: Vec<String>,
}

/// A JSON value whose numbers are still text.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(String),
    Array(Vec<Value<'a>>),
    Object(Vec<(String, Value<'a>)>),
}

impl Value<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// An object's members in document order, values still raw.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// Parses a whole document into a [`Value`] tree, keeping numbers as text.
pub(crate) fn parse_document(text: &str) -> Result<Value<'_>, ParseError> {
    if text.len() > MAX_JSON_BYTES {
        return Err(ParseError::TooLarge {
            len: text.len(),
            max: MAX_JSON_BYTES,
        });
    }
    let raw: &RawValue =
        serde_json::from_str(text).map_err(|err| ParseError::Syntax(err.to_string()))?;
    from_raw(raw, 0)
}

/// Parses a whole document with `read`, the reader of its top-level object, collecting the paths
/// of the fields it did not know.
pub(crate) fn parse_strict<T>(
    text: &str,
    read: impl FnOnce(&Value<'_>, &str, &mut Vec<String>) -> Result<T, ParseError>,
) -> Result<Parsed<T>, ParseError> {
    let doc = parse_document(text)?;
    let mut unknown_fields = Vec::new();
    let value = read(&doc, "", &mut unknown_fields)?;
    Ok(Parsed {
        value,
        unknown_fields,
    })
}

fn from_raw(raw: &RawValue, depth: usize) -> Result<Value<'_>, ParseError> {
    if depth > MAX_JSON_DEPTH {
        return Err(ParseError::Syntax(format!(
            "nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let text = raw.get().trim();
    let syntax = |err: serde_json::Error| ParseError::Syntax(err.to_string());
    let value = match text.as_bytes().first() {
        Some(b'{') => {
            let Members(members) = serde_json::from_str(text).map_err(syntax)?;
            let mut out = Vec::with_capacity(members.len());
            for (key, member) in members {
                out.push((key, from_raw(member, depth + 1)?));
            }
            Value::Object(out)
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(syntax)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(from_raw(item, depth + 1)?);
            }
            Value::Array(out)
        }
        Some(b'"') => Value::String(serde_json::from_str(text).map_err(syntax)?),
        Some(b't') => Value::Bool(true),
        Some(b'f') => Value::Bool(false),
        Some(b'n') => Value::Null,
        // serde_json has already checked that anything else is a well-formed number.
        _ => Value::Number(text),
    };
    Ok(value)
}

/// Joins a field name onto a path.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Reads one JSON object, tracking which members were used.
pub(crate) struct Obj<'v, 'a> {
    path: String,
    members: &'v [(String, Value<'a>)],
    used: Vec<bool>,
}

impl<'v, 'a> Obj<'v, 'a> {
    pub(crate) fn new(value: &'v Value<'a>, path: &str) -> Result<Self, ParseError> {
        let Value::Object(members) = value else {
            return Err(expected(path, "an object", value));
        };
        for (i, (key, _)) in members.iter().enumerate() {
            if members[..i].iter().any(|(earlier, _)| earlier == key) {
                return Err(ParseError::field(join(path, key), "duplicate field"));
            }
        }
        Ok(Obj {
            path: path.to_owned(),
            members,
            used: vec![false; members.len()],
        })
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The member `key`, marked as used; `null` counts as absent.
    fn take(&mut self, key: &str) -> Option<(&'v Value<'a>, String)> {
        let index = self.members.iter().position(|(k, _)| k == key)?;
        self.used[index] = true;
        match &self.members[index].1 {
            Value::Null => None,
            value => Some((value, join(&self.path, key))),
        }
    }

    /// A required member, converted by `read`.
    pub(crate) fn req<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(&'v Value<'a>, &str) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        match self.take(key) {
            Some((value, path)) => read(value, &path),
            None => Err(ParseError::field(
                join(&self.path, key),
                "missing required field",
            )),
        }
    }

    /// An optional member, converted by `read`; absent and `null` give `None`.
    pub(crate) fn opt<T>(
        &mut self,
        key: &str,
        read: impl FnOnce(&'v Value<'a>, &str) -> Result<T, ParseError>,
    ) -> Result<Option<T>, ParseError> {
        match self.take(key) {
            Some((value, path)) => read(value, &path).map(Some),
            None => Ok(None),
        }
    }

    /// Records every member that was never asked for as unknown.
    pub(crate) fn finish(self, unknown: &mut Vec<String>) {
        for ((key, _), used) in self.members.iter().zip(self.used) {
            if !used {
                unknown.push(join(&self.path, key));
            }
        }
    }
}

pub(crate) fn expected(path: &str, what: &str, got: &Value<'_>) -> ParseError {
    ParseError::field(path, format!("expected {what}, found {}", got.kind()))
}

/// Reads an array, giving each item its indexed path.
pub(crate) fn array<'v, 'a, T>(
    value: &'v Value<'a>,
    path: &str,
    max_len: usize,
    mut read: impl FnMut(&'v Value<'a>, &str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    let Value::Array(items) = value else {
        return Err(expected(path, "an array", value));
    };
    if items.len() > max_len {
        return Err(ParseError::field(
            path,
            format!("expected at most {max_len} entries, found {}", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| read(item, &format!("{path}[{i}]")))
        .collect()
}

/// Like [`array`], but at least one entry is required.
pub(crate) fn non_empty_array<'v, 'a, T>(
    value: &'v Value<'a>,
    path: &str,
    max_len: usize,
    read: impl FnMut(&'v Value<'a>, &str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    let items = array(value, path, max_len, read)?;
    if items.is_empty() {
        return Err(ParseError::field(path, "expected a non-empty array"));
    }
    Ok(items)
}

pub(crate) fn string(value: &Value<'_>, path: &str) -> Result<String, ParseError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(expected(path, "a string", other)),
    }
}

/// An OCPI `string(max)`: printable UTF-8, at most `max` characters.
pub(crate) fn text(max: usize) -> impl Fn(&Value<'_>, &str) -> Result<String, ParseError> {
    move |value, path| {
        let s = string(value, path)?;
        if s.chars().count() > max {
            return Err(ParseError::field(
                path,
                format!("expected a string of at most {max} characters"),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::field(
                path,
                "expected printable text without control characters",
            ));
        }
        Ok(s)
    }
}

/// An OCPI `CiString(max)`: printable ASCII, at most `max` characters.
pub(crate) fn ci_string(max: usize) -> impl Fn(&Value<'_>, &str) -> Result<String, ParseError> {
    move |value, path| {
        let s = string(value, path)?;
        if s.len() > max || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(ParseError::field(
                path,
                format!("expected printable ASCII of at most {max} characters"),
            ));
        }
        Ok(s)
    }
}

/// An ISO 4217 currency code: three upper-case letters.
pub(crate) fn currency(value: &Value<'_>, path: &str) -> Result<String, ParseError> {
    let s = string(value, path)?;
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ParseError::field(
            path,
            "expected an ISO 4217 currency code like EUR",
        ));
    }
    Ok(s)
}

pub(crate) fn boolean(value: &Value<'_>, path: &str) -> Result<bool, ParseError> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => Err(expected(path, "a boolean", other)),
    }
}

/// A JSON number, parsed from its text without passing through `f64`.
pub(crate) fn decimal(value: &Value<'_>, path: &str) -> Result<Decimal, ParseError> {
    let Value::Number(text) = value else {
        return Err(expected(path, "a number", value));
    };
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    parsed.map_err(|_| {
        ParseError::field(
            path,
            "expected a number that fits in 28 significant decimal digits",
        )
    })
}

/// A number that is zero or more and at most `max`.
pub(crate) fn non_negative(max: i64) -> impl Fn(&Value<'_>, &str) -> Result<Decimal, ParseError> {
    move |value, path| {
        let d = decimal(value, path)?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(ParseError::field(path, "expected a non-negative number"));
        }
        if d > Decimal::from(max) {
            return Err(ParseError::field(
                path,
                format!("expected a number of at most {max}"),
            ));
        }
        Ok(d.abs())
    }
}

/// A whole number in `min..=max`; `1.0` is accepted, `1.5` is not.
pub(crate) fn integer(
    value: &Value<'_>,
    path: &str,
    min: u64,
    max: u64,
) -> Result<u64, ParseError> {
    let what = if min == 0 {
        "expected a non-negative integer"
    } else {
        "expected a positive integer"
    };
    let d = match value {
        Value::Number(_) => decimal(value, path).map_err(|_| ParseError::field(path, what))?,
        other => return Err(expected(path, &what["expected ".len()..], other)),
    };
    if !d.fract().is_zero() || d < Decimal::from(min) {
        return Err(ParseError::field(path, what));
    }
    match d.to_u64() {
        Some(n) if n <= max => Ok(n),
        _ => Err(ParseError::field(path, format!("{what} of at most {max}"))),
    }
}

/// An OCPI DateTime: RFC 3339 in UTC, `Z` optional, fractional seconds allowed, no offsets.
pub(crate) fn datetime(value: &Value<'_>, path: &str) -> Result<DateTime<Utc>, ParseError> {
    let s = string(value, path)?;
    parse_ocpi_datetime(&s).ok_or_else(|| {
        ParseError::field(path, "expected a UTC timestamp like 2015-06-29T20:39:09Z")
    })
}

pub(crate) fn parse_ocpi_datetime(s: &str) -> Option<DateTime<Utc>> {
    let body = s.strip_suffix('Z').unwrap_or(s);
    // The date part must be exactly `YYYY-MM-DD`; chrono alone would accept `2015-6-29`.
    let bytes = body.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(naive.and_utc())
}

/// An OCPI date restriction: `YYYY-MM-DD`.
pub(crate) fn date(value: &Value<'_>, path: &str) -> Result<NaiveDate, ParseError> {
    let s = string(value, path)?;
    let ok = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        Ok(d) if ok => Ok(d),
        _ => Err(ParseError::field(path, "expected a date like 2015-12-24")),
    }
}

/// Writes a decimal as a JSON number (not a string, not through `f64`).
pub(crate) fn write_decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    // A negative zero would print as `-0`; money never needs that.
    let d = if d.is_zero() { d.abs() } else { *d };
    let raw = RawValue::from_string(d.to_string()).map_err(S::Error::custom)?;
    raw.serialize(s)
}

pub(crate) fn write_opt_decimal<S: Serializer>(
    d: &Option<Decimal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => write_decimal(d, s),
        None => s.serialize_none(),
    }
}

/// Formats a timestamp the way OCPI wants it: `2015-06-29T20:39:09Z`, with milliseconds (or finer)
/// only when they are not zero.
pub(crate) fn format_datetime(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()
}

pub(crate) fn write_datetime<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_datetime(t))
}

pub(crate) fn write_opt_datetime<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => write_datetime(t, s),
        None => s.serialize_none(),
    }
}

/// Opaque JSON kept verbatim, for parts of OCPI objects the engine does not interpret
/// (e.g. `energy_mix`). It is written back exactly as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueJson(String);

impl OpaqueJson {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for OpaqueJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.clone()).map_err(S::Error::custom)?;
        raw.serialize(s)
    }
}

/// Captures any JSON value as [`OpaqueJson`] by re-serialising the tree.
pub(crate) fn opaque(value: &Value<'_>, _path: &str) -> Result<OpaqueJson, ParseError> {
    let mut out = String::new();
    write_value(value, &mut out);
    Ok(OpaqueJson(out))
}

fn write_value(value: &Value<'_>, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

/// Generates an OCPI string enum: parsing with a helpful error, and serialising as the OCPI name.
macro_rules! ocpi_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in specification order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The OCPI spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the OCPI spelling (case-sensitive, as OCPI enums are).
            pub fn from_ocpi(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            #[allow(dead_code)] // not every enum is read from JSON
            pub(crate) fn read(
                value: &$crate::json::Value<'_>,
                path: &str,
            ) -> Result<$name, $crate::json::ParseError> {
                let s = $crate::json::string(value, path)?;
                $name::from_ocpi(&s).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::json::ParseError::field(
                        path,
                        format!("expected one of {}, found {s:?}", names.join(", ")),
                    )
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use ocpi_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_digits() {
        let doc = parse_document(r#"{"a": 0.1000000000000000055511151231, "b": 1.5e-3}"#).unwrap();
        let mut obj = Obj::new(&doc, "").unwrap();
        let a = obj.req("a", decimal).unwrap();
        let b = obj.req("b", decimal).unwrap();
        assert_eq!(a.to_string(), "0.1000000000000000055511151231");
        assert_eq!(b.to_string(), "0.0015");
    }

    #[test]
    fn integers_reject_fractions_and_name_the_field() {
        let doc = parse_document(r#"{"n": 1.5}"#).unwrap();
        let mut obj = Obj::new(&doc, "x").unwrap();
        let err = obj.req("n", |v, p| integer(v, p, 1, 10)).unwrap_err();
        assert_eq!(err.to_string(), "x.n: expected a positive integer");
    }

    #[test]
    fn datetimes_follow_ocpi() {
        for ok in [
            "2015-06-29T20:39:09Z",
            "2015-06-29T20:39:09",
            "2016-12-29T17:45:09.2Z",
            "2018-01-01T01:08:01.123",
        ] {
            assert!(parse_ocpi_datetime(ok).is_some(), "{ok}");
        }
        for bad in [
            "2015-06-29T20:39:09+01:00",
            "2015-6-29T20:39:09Z",
            "yesterday",
        ] {
            assert!(parse_ocpi_datetime(bad).is_none(), "{bad}");
        }
        let t = parse_ocpi_datetime("2016-12-29T17:45:09.2Z").unwrap();
        assert_eq!(format_datetime(&t), "2016-12-29T17:45:09.200Z");
        let t = parse_ocpi_datetime("2016-12-29T17:45:09").unwrap();
        assert_eq!(format_datetime(&t), "2016-12-29T17:45:09Z");
    }

    #[test]
    fn duplicate_members_are_rejected() {
        let doc = parse_document(r#"{"a": 1, "a": 2}"#).unwrap();
        let err = Obj::new(&doc, "").err().unwrap();
        assert_eq!(err.to_string(), "a: duplicate field");
    }
}
