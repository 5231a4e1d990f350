//! DynamoDB attribute values as they arrive in stream records
//! (`{"S": "x"}`, `{"N": "12.5"}`, `{"M": {...}}`, ...), decoded once into
//! [`Attr`], with numbers kept exactly ([`Number`]).
//!
//! Decoding is strict about what DynamoDB guarantees (one type tag per value,
//! numbers as strings, binaries as base64) and never panics: anything else
//! is an [`AttrError`] naming the attribute path.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::events::kind_of;

/// Nesting DynamoDB allows for maps and lists (32 levels); deeper input is
/// refused instead of recursing without bound.
pub const MAX_DEPTH: usize = 32;

/// Largest exponent magnitude accepted in an `N` value. DynamoDB allows
/// 10^-130 .. 10^125; this only keeps arithmetic far from overflow.
const MAX_EXPONENT: i64 = 10_000;

/// An item (or key, or image): attribute name -> value, in name order.
pub type Item = BTreeMap<String, Attr>;

/// One DynamoDB attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    S(String),
    N(Number),
    /// Decoded from base64.
    B(Vec<u8>),
    Bool(bool),
    Null,
    Ss(Vec<String>),
    Ns(Vec<Number>),
    Bs(Vec<Vec<u8>>),
    M(Item),
    L(Vec<Attr>),
}

impl Attr {
    /// The DynamoDB type tag (`S`, `N`, `B`, `BOOL`, `NULL`, `SS`, `NS`, `BS`, `M`, `L`).
    pub fn tag(&self) -> &'static str {
        match self {
            Attr::S(_) => "S",
            Attr::N(_) => "N",
            Attr::B(_) => "B",
            Attr::Bool(_) => "BOOL",
            Attr::Null => "NULL",
            Attr::Ss(_) => "SS",
            Attr::Ns(_) => "NS",
            Attr::Bs(_) => "BS",
            Attr::M(_) => "M",
            Attr::L(_) => "L",
        }
    }
}

/// Why an attribute value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute `{path}`: {reason}")]
pub struct AttrError {
    /// Dotted path of the attribute (`[i]` for list elements).
    pub path: String,
    pub reason: String,
}

fn attr_error(path: &str, reason: impl Into<String>) -> AttrError {
    AttrError {
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Decode an item in DynamoDB JSON (`{"name": {"S": "x"}, ...}`).
pub fn decode_item(value: &Value, path: &str) -> Result<Item, AttrError> {
    decode_map(value, path, 0)
}

fn decode_map(value: &Value, path: &str, depth: usize) -> Result<Item, AttrError> {
    let obj = value
        .as_object()
        .ok_or_else(|| attr_error(path, format!("expected an object, got {}", kind_of(value))))?;
    let mut item = Item::new();
    for (name, v) in obj {
        let child = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        item.insert(name.clone(), decode_attr(v, &child, depth)?);
    }
    Ok(item)
}

/// Decode one attribute value in DynamoDB JSON.
pub fn decode_attr(value: &Value, path: &str, depth: usize) -> Result<Attr, AttrError> {
    if depth > MAX_DEPTH {
        return Err(attr_error(
            path,
            format!("nested deeper than DynamoDB's {MAX_DEPTH} levels"),
        ));
    }
    let obj = value.as_object().ok_or_else(|| {
        attr_error(
            path,
            format!(
                "expected a typed value like {{\"S\": ...}}, got {}",
                kind_of(value)
            ),
        )
    })?;
    let mut entries = obj.iter();
    let (tag, v) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        _ => {
            let tags: Vec<&str> = obj.keys().map(String::as_str).take(4).collect();
            return Err(attr_error(
                path,
                format!("expected exactly one type tag, got {tags:?}"),
            ));
        }
    };
    let string = |v: &Value| -> Result<String, AttrError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| attr_error(path, format!("{tag} value must be a string")))
    };
    let array = |v: &Value| -> Result<Vec<Value>, AttrError> {
        v.as_array()
            .cloned()
            .ok_or_else(|| attr_error(path, format!("{tag} value must be an array")))
    };
    Ok(match tag.as_str() {
        "S" => Attr::S(string(v)?),
        "N" => Attr::N(number(v, path)?),
        "B" => Attr::B(base64_value(v, path)?),
        "BOOL" => Attr::Bool(
            v.as_bool()
                .ok_or_else(|| attr_error(path, "BOOL value must be true or false"))?,
        ),
        "NULL" => match v {
            Value::Bool(true) => Attr::Null,
            _ => return Err(attr_error(path, "NULL value must be true")),
        },
        "SS" => Attr::Ss(
            array(v)?
                .iter()
                .map(|e| {
                    e.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| attr_error(path, "SS elements must be strings"))
                })
                .collect::<Result<_, _>>()?,
        ),
        "NS" => Attr::Ns(
            array(v)?
                .iter()
                .map(|e| number(e, path))
                .collect::<Result<_, _>>()?,
        ),
        "BS" => Attr::Bs(
            array(v)?
                .iter()
                .map(|e| base64_value(e, path))
                .collect::<Result<_, _>>()?,
        ),
        "M" => Attr::M(decode_map(v, path, depth + 1)?),
        "L" => Attr::L(
            array(v)?
                .iter()
                .enumerate()
                .map(|(i, e)| decode_attr(e, &format!("{path}[{i}]"), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(attr_error(
                path,
                format!(
                    "unknown type tag {other:?} (expected S, N, B, BOOL, NULL, SS, NS, BS, M or L)"
                ),
            ))
        }
    })
}

fn number(v: &Value, path: &str) -> Result<Number, AttrError> {
    let text = v
        .as_str()
        .ok_or_else(|| attr_error(path, "N value must be a string"))?;
    Number::parse(text).map_err(|reason| attr_error(path, reason))
}

fn base64_value(v: &Value, path: &str) -> Result<Vec<u8>, AttrError> {
    let text = v
        .as_str()
        .ok_or_else(|| attr_error(path, "binary value must be a base64 string"))?;
    base64_decode(text).map_err(|reason| attr_error(path, reason))
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// An exact decimal number: `(-1)^negative * digits * 10^exponent`, with
/// `digits` the significant digits without leading or trailing zeros
/// (empty for zero). `1.50`, `15e-1` and `0.15E1` are the same `Number`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    digits: String,
    exponent: i64,
}

impl Number {
    /// Parse DynamoDB's number text: optional sign, digits with an optional
    /// decimal point, optional exponent. No NaN, no infinity, no blanks.
    pub fn parse(text: &str) -> Result<Number, String> {
        let bad = || format!("{:?} is not a number", shorten(text));
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let mut exponent: i64 = match exp_text {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty()
                    || digits.len() > 6
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(bad());
                }
                e.parse::<i64>().map_err(|_| bad())?
            }
        };
        let frac_len = i64::try_from(frac_part.len()).map_err(|_| bad())?;
        exponent -= frac_len;
        let all: String = int_part.chars().chain(frac_part.chars()).collect();
        let trimmed_leading = all.trim_start_matches('0');
        let without_trailing = trimmed_leading.trim_end_matches('0');
        let trailing = trimmed_leading.len() - without_trailing.len();
        if without_trailing.is_empty() {
            return Ok(Number {
                negative: false,
                digits: String::new(),
                exponent: 0,
            });
        }
        exponent += i64::try_from(trailing).map_err(|_| bad())?;
        let magnitude = exponent + i64::try_from(without_trailing.len()).map_err(|_| bad())?;
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&magnitude) {
            return Err(format!("{:?} is out of range", shorten(text)));
        }
        Ok(Number {
            negative,
            digits: without_trailing.to_string(),
            exponent,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether the number has no fractional part.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// Significant digits (0 for zero).
    pub fn precision(&self) -> u32 {
        self.digits.len() as u32
    }

    /// Digits after the decimal point needed to write it exactly.
    pub fn scale(&self) -> u32 {
        if self.exponent < 0 {
            u32::try_from(-self.exponent).unwrap_or(u32::MAX)
        } else {
            0
        }
    }

    /// Digits before the decimal point (0 for |x| < 1).
    pub fn integer_digits(&self) -> u32 {
        let n = self.digits.len() as i64 + self.exponent;
        u32::try_from(n.max(0)).unwrap_or(u32::MAX)
    }

    /// The value as an `i64`, when it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        if !self.is_integer() || self.integer_digits() > 19 {
            return None;
        }
        let v = self.unscaled(0)?;
        i64::try_from(v).ok()
    }

    /// `value * 10^scale` as an `i128` when that is an integer of at most
    /// `precision` digits: the unscaled value of a `decimal(precision, scale)`.
    pub fn to_decimal(&self, precision: u8, scale: u8) -> Option<i128> {
        if self.scale() > u32::from(scale)
            || self.integer_digits() + u32::from(scale) > u32::from(precision)
        {
            return None;
        }
        self.unscaled(scale)
    }

    fn unscaled(&self, scale: u8) -> Option<i128> {
        if self.is_zero() {
            return Some(0);
        }
        let shift = self.exponent + i64::from(scale);
        if shift < 0 || self.digits.len() as i64 + shift > 38 {
            return None;
        }
        let mut v: i128 = self.digits.parse().ok()?;
        for _ in 0..shift {
            v = v.checked_mul(10)?;
        }
        Some(if self.negative { -v } else { v })
    }

    /// The value as an `f64`, only when the double reads back as exactly this
    /// number (its shortest decimal form has the same digits and exponent).
    pub fn to_f64_exact(&self) -> Option<f64> {
        let f: f64 = self.to_string().parse().ok()?;
        if !f.is_finite() {
            return None;
        }
        let back = Number::parse(&format!("{f:e}")).ok()?;
        (back == *self).then_some(f)
    }

    /// `value * 10^shift` with its fraction dropped (toward zero), as an
    /// `i64` when in range: e.g. epoch seconds to microseconds with `shift` 6.
    pub fn shifted_trunc_i64(&self, shift: i64) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        let exponent = self.exponent.checked_add(shift)?;
        let mut n = self.clone();
        n.exponent = exponent;
        if exponent < 0 {
            let drop = usize::try_from(-exponent).ok()?;
            if drop >= n.digits.len() {
                return Some(0);
            }
            n.digits.truncate(n.digits.len() - drop);
            n.exponent = 0;
        }
        n.to_i64()
    }

    /// `unscaled * 10^-scale` (a decimal column's value).
    pub fn from_unscaled(unscaled: i128, scale: u8) -> Number {
        let text = unscaled.unsigned_abs().to_string();
        let mut n = Number::parse(&format!("{text}e-{scale}")).unwrap_or(Number {
            negative: false,
            digits: String::new(),
            exponent: 0,
        });
        n.negative = unscaled < 0 && !n.is_zero();
        n
    }
}

/// Plain decimal notation, exact, without exponent: `-12.5`, `1000`, `0.001`.
impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let len = self.digits.len() as i64;
        if self.exponent >= 0 {
            f.write_str(&self.digits)?;
            for _ in 0..self.exponent {
                f.write_str("0")?;
            }
            return Ok(());
        }
        let int_len = len + self.exponent;
        if int_len > 0 {
            let cut = int_len as usize;
            write!(f, "{}.{}", &self.digits[..cut], &self.digits[cut..])
        } else {
            f.write_str("0.")?;
            for _ in 0..(-int_len) {
                f.write_str("0")?;
            }
            f.write_str(&self.digits)
        }
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

// ---------------------------------------------------------------------------
// JSON renderings
// ---------------------------------------------------------------------------

/// The value as plain JSON, as `NESTED=json` columns hold maps and lists:
/// S -> string, N -> number (exact digits), B -> base64 string, BOOL,
/// NULL -> null, sets -> arrays, M -> object (keys in name order), L -> array.
pub fn plain_json(attr: &Attr) -> String {
    let mut out = String::new();
    write_plain(attr, &mut out);
    out
}

fn write_plain(attr: &Attr, out: &mut String) {
    match attr {
        Attr::S(s) => write_string(s, out),
        Attr::N(n) => {
            let _ = write!(out, "{n}");
        }
        Attr::B(b) => write_string(&base64_encode(b), out),
        Attr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Attr::Null => out.push_str("null"),
        Attr::Ss(v) => write_array(v.iter(), out, |s, o| write_string(s, o)),
        Attr::Ns(v) => write_array(v.iter(), out, |n, o| {
            let _ = write!(o, "{n}");
        }),
        Attr::Bs(v) => write_array(v.iter(), out, |b, o| write_string(&base64_encode(b), o)),
        Attr::M(m) => write_object(m, out, write_plain),
        Attr::L(v) => write_array(v.iter(), out, write_plain),
    }
}

/// The value in DynamoDB JSON (`{"N":"12.5"}`), as `_rescued` keeps it: the
/// type tag survives, so nothing about the value is lost.
pub fn dynamodb_json(attr: &Attr) -> String {
    let mut out = String::new();
    write_dynamodb(attr, &mut out);
    out
}

fn write_dynamodb(attr: &Attr, out: &mut String) {
    out.push_str("{\"");
    out.push_str(attr.tag());
    out.push_str("\":");
    match attr {
        Attr::S(s) => write_string(s, out),
        Attr::N(n) => write_string(&n.to_string(), out),
        Attr::B(b) => write_string(&base64_encode(b), out),
        Attr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Attr::Null => out.push_str("true"),
        Attr::Ss(v) => write_array(v.iter(), out, |s, o| write_string(s, o)),
        Attr::Ns(v) => write_array(v.iter(), out, |n, o| write_string(&n.to_string(), o)),
        Attr::Bs(v) => write_array(v.iter(), out, |b, o| write_string(&base64_encode(b), o)),
        Attr::M(m) => write_object(m, out, write_dynamodb),
        Attr::L(v) => write_array(v.iter(), out, write_dynamodb),
    }
    out.push('}');
}

/// An object of DynamoDB JSON values, keys in the given order.
pub fn dynamodb_json_object<'a>(entries: impl IntoIterator<Item = (&'a str, &'a Attr)>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, &mut out);
        out.push(':');
        write_dynamodb(v, &mut out);
    }
    out.push('}');
    out
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's escaping; a &str always serialises.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn write_array<T>(
    items: impl Iterator<Item = T>,
    out: &mut String,
    mut each: impl FnMut(T, &mut String),
) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(item, out);
    }
    out.push(']');
}

fn write_object(m: &Item, out: &mut String, each: fn(&Attr, &mut String)) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        each(v, out);
    }
    out.push('}');
}

// ---------------------------------------------------------------------------
// base64 (RFC 4648, standard alphabet)
// ---------------------------------------------------------------------------

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// Decode standard base64; padding is optional, whitespace is not allowed.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let bad = |why: &str| format!("invalid base64 ({why})");
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 {
        return Err(bad("too much padding"));
    }
    if !text.len().is_multiple_of(4) && text.len() != body.len() {
        return Err(bad("padding in the wrong place"));
    }
    if body.len() % 4 == 1 {
        return Err(bad("truncated"));
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(bad("unexpected character")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn numbers_parse_to_one_canonical_form() {
        assert_eq!(n("1.50"), n("15e-1"));
        assert_eq!(n("0.15E1"), n("1.5"));
        assert_eq!(n("-0"), n("0"));
        assert_eq!(n("000"), n("0.000"));
        assert_eq!(n("100").to_string(), "100");
        assert_eq!(n("1e2").to_string(), "100");
        assert_eq!(n("-12.50").to_string(), "-12.5");
        assert_eq!(n("0.001").to_string(), "0.001");
        assert_eq!(n(".5").to_string(), "0.5");
        assert_eq!(n("5.").to_string(), "5");
        assert_eq!(n("+7").to_string(), "7");
        assert_eq!(n("1E-130").scale(), 130);
        assert_eq!(n("1E+125").integer_digits(), 126);
        for bad in [
            "",
            "-",
            ".",
            "1e",
            "e5",
            "1.2.3",
            "NaN",
            "Infinity",
            "0x10",
            " 1",
            "1 ",
            "1e99999999",
            "--1",
            "1e+-2",
        ] {
            assert!(Number::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn integers_in_and_out_of_long_range() {
        assert_eq!(n("9223372036854775807").to_i64(), Some(i64::MAX));
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("1.0").to_i64(), Some(1));
        assert_eq!(n("12e3").to_i64(), Some(12000));
        assert_eq!(n("0").to_i64(), Some(0));
    }

    #[test]
    fn thirty_eight_digit_numbers_are_exact_decimals() {
        let max = "99999999999999999999999999999999999999";
        assert_eq!(max.len(), 38);
        assert_eq!(n(max).to_decimal(38, 0), Some(max.parse::<i128>().unwrap()));
        assert_eq!(
            n(&format!("-{max}")).to_decimal(38, 0),
            Some(-max.parse::<i128>().unwrap())
        );
        // 38 significant digits with a fraction: scale 18 leaves 20 integer digits.
        let frac = "12345678901234567890.123456789012345678";
        assert_eq!(
            n(frac).to_decimal(38, 18),
            Some(12345678901234567890123456789012345678)
        );
        assert_eq!(n(frac).to_decimal(38, 17), None, "a digit would be lost");
        assert_eq!(n("1e38").to_decimal(38, 0), None, "39 digits");
        assert_eq!(
            n("12.5").to_decimal(38, 18),
            Some(12_500_000_000_000_000_000)
        );
        assert_eq!(Number::from_unscaled(-125, 1), n("-12.5"));
        assert_eq!(Number::from_unscaled(0, 3), n("0"));
    }

    #[test]
    fn doubles_only_when_they_read_back_exactly() {
        assert_eq!(n("1e100").to_f64_exact(), Some(1e100));
        assert_eq!(n("0.1").to_f64_exact(), Some(0.1));
        assert_eq!(n("1.5E-130").to_f64_exact(), Some(1.5e-130));
        assert_eq!(n("9007199254740993").to_f64_exact(), None, "2^53 + 1");
        assert_eq!(n("0.12345678901234567890123").to_f64_exact(), None);
        assert_eq!(n("1E+125").to_f64_exact(), Some(1e125));
    }

    #[test]
    fn shifting_truncates_toward_zero() {
        assert_eq!(
            n("1795240950.678").shifted_trunc_i64(6),
            Some(1_795_240_950_678_000)
        );
        assert_eq!(n("1.9999999").shifted_trunc_i64(6), Some(1_999_999));
        assert_eq!(n("-1.9999999").shifted_trunc_i64(6), Some(-1_999_999));
        assert_eq!(n("0.0000001").shifted_trunc_i64(6), Some(0));
        assert_eq!(
            n("1700000000000").shifted_trunc_i64(3),
            Some(1_700_000_000_000_000)
        );
        assert_eq!(n("1e30").shifted_trunc_i64(6), None);
    }

    #[test]
    fn every_attribute_type_decodes() {
        let item = decode_item(
            &json!({
                "s": {"S": "héllo"},
                "n": {"N": "-12.50"},
                "b": {"B": "AAEC/w=="},
                "t": {"BOOL": true},
                "z": {"NULL": true},
                "ss": {"SS": ["a", "b"]},
                "ns": {"NS": ["1", "2.5"]},
                "bs": {"BS": ["AA==", "AQ=="]},
                "es": {"SS": []},
                "m": {"M": {"x": {"L": [{"N": "1"}, {"S": "y"}, {"NULL": true}]}}},
            }),
            "",
        )
        .unwrap();
        assert_eq!(item["s"], Attr::S("héllo".into()));
        assert_eq!(item["n"], Attr::N(n("-12.5")));
        assert_eq!(item["b"], Attr::B(vec![0, 1, 2, 255]));
        assert_eq!(item["t"], Attr::Bool(true));
        assert_eq!(item["z"], Attr::Null);
        assert_eq!(item["ss"], Attr::Ss(vec!["a".into(), "b".into()]));
        assert_eq!(item["ns"], Attr::Ns(vec![n("1"), n("2.5")]));
        assert_eq!(item["bs"], Attr::Bs(vec![vec![0], vec![1]]));
        assert_eq!(item["es"], Attr::Ss(vec![]));
        assert_eq!(plain_json(&item["m"]), r#"{"x":[1,"y",null]}"#);
        assert_eq!(
            dynamodb_json(&item["m"]),
            r#"{"M":{"x":{"L":[{"N":"1"},{"S":"y"},{"NULL":true}]}}}"#
        );
        assert_eq!(plain_json(&item["b"]), r#""AAEC/w==""#);
        assert_eq!(plain_json(&item["ns"]), "[1,2.5]");
        assert_eq!(dynamodb_json(&item["bs"]), r#"{"BS":["AA==","AQ=="]}"#);
    }

    #[test]
    fn malformed_values_name_their_path() {
        for (value, path) in [
            (json!({"a": {"N": "abc"}}), "a"),
            (json!({"a": {"N": 1}}), "a"),
            (json!({"a": {"S": "x", "N": "1"}}), "a"),
            (json!({"a": {}}), "a"),
            (json!({"a": {"X": 1}}), "a"),
            (json!({"a": {"NULL": false}}), "a"),
            (json!({"a": {"B": "***"}}), "a"),
            (json!({"a": {"M": {"b": {"L": [{"S": 1}]}}}}), "a.b[0]"),
            (json!({"a": "plain"}), "a"),
            (json!({"a": {"SS": [1]}}), "a"),
        ] {
            let err = decode_item(&value, "").unwrap_err();
            assert_eq!(err.path, path, "{value}: {err}");
        }
        assert!(decode_item(&json!([1]), "NewImage").is_err());
    }

    #[test]
    fn deep_maps_decode_to_the_limit_and_no_further() {
        fn nest(levels: usize) -> Value {
            let mut v = json!({"S": "leaf"});
            for _ in 0..levels {
                v = json!({"M": {"k": v}});
            }
            v
        }
        assert!(decode_attr(&nest(MAX_DEPTH), "a", 0).is_ok());
        let err = decode_attr(&nest(MAX_DEPTH + 1), "a", 0).unwrap_err();
        assert!(err.reason.contains("deeper"), "{err}");
        // Far deeper input is an error, not a stack overflow.
        assert!(decode_attr(&nest(1_000), "a", 0).is_err());
    }

    #[test]
    fn base64_round_trips_and_rejects_garbage() {
        for input in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0, 255, 254],
        ] {
            let text = base64_encode(input);
            assert_eq!(base64_decode(&text).unwrap(), input);
            assert_eq!(base64_decode(text.trim_end_matches('=')).unwrap(), input);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        for bad in ["A", "A===", "Zm9v!", "Zm=9v", "Z m9v"] {
            assert!(base64_decode(bad).is_err(), "{bad}");
        }
    }
}
