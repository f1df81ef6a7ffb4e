//! A small, bounded BER-to-DER normaliser for the outer layers of CMS messages.
//!
//! OpenSSL's `cms -sign -stream` (and other streaming CMS producers) write indefinite
//! lengths and cut the eContent into a constructed OCTET STRING of 1000-octet segments.
//! [`to_der`] rewrites such input into definite, minimal lengths and joins every
//! constructed universal OCTET STRING into one primitive OCTET STRING, so that the rest of
//! the crate can decode DER only and digest the eContent as one piece of octets (which is
//! what RFC 5652 §5.4 digests: the content octets, without tags and lengths).
//!
//! It does not reorder SET OF elements or touch content octets of primitive values: signed
//! attributes must already be DER (RFC 5652 §5.3), and are verified as such. Nesting depth
//! is capped ([`MAX_DEPTH`]) so the recursion is bounded, and the output is at most one
//! and a half times the input.

use crate::Error;

/// Maximum nesting depth of constructed values. CMS with CRMF inside reaches about 20.
pub const MAX_DEPTH: usize = 64;

const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OCTET_STRING_CONSTRUCTED: u8 = 0x24;

/// How the input was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Already DER (as far as lengths and string forms go): the bytes were used unchanged.
    Der,
    /// BER with indefinite lengths, non-minimal lengths or constructed OCTET STRINGs; it
    /// was rewritten into DER before decoding.
    Ber,
}

/// Rewrites one BER value (the whole input, nothing may follow it) into DER lengths and
/// primitive OCTET STRINGs, reporting whether anything changed.
///
/// # Errors
/// [`Error::Malformed`] for truncated input, an indefinite length on a primitive value, a
/// stray or missing end-of-contents marker, a length that does not fit, a constructed OCTET
/// STRING holding anything but OCTET STRINGs, nesting deeper than [`MAX_DEPTH`], or data
/// after the value.
pub fn to_der(input: &[u8]) -> Result<(Vec<u8>, Encoding), Error> {
    // Almost every request is DER already: one walk that allocates
    // nothing says so, and the input is taken as it is. Anything else
    // (BER, or malformed: the rewrite says why) takes the rewrite.
    if der_end(input, 0, 0) == Some(input.len()) {
        return Ok((input.to_vec(), Encoding::Der));
    }
    rewrite(input)
}

/// [`to_der`] the long way: every value copied into its DER form.
fn rewrite(input: &[u8]) -> Result<(Vec<u8>, Encoding), Error> {
    let mut out = Vec::with_capacity(input.len());
    let end = element(input, 0, 0, &mut out)?;
    if end != input.len() {
        return Err(Error::Malformed(format!(
            "{} octets after the value",
            input.len() - end
        )));
    }
    let encoding = if out == input {
        Encoding::Der
    } else {
        Encoding::Ber
    };
    Ok((out, encoding))
}

fn malformed(what: &str, pos: usize) -> Error {
    Error::Malformed(format!("{what} at offset {pos}"))
}

/// The identifier octets starting at `pos`: (end of the tag, whether constructed).
fn read_tag(input: &[u8], pos: usize) -> Result<(usize, bool), Error> {
    let first = *input
        .get(pos)
        .ok_or_else(|| malformed("truncated tag", pos))?;
    let constructed = first & 0x20 != 0;
    let mut end = pos + 1;
    if first & 0x1f == 0x1f {
        // High tag number: base-128, at most 4 more octets, no leading 0x80.
        let mut n = 0;
        loop {
            let b = *input
                .get(end)
                .ok_or_else(|| malformed("truncated tag", end))?;
            if n == 0 && b == 0x80 {
                return Err(malformed("non-minimal tag number", end));
            }
            end += 1;
            n += 1;
            if b & 0x80 == 0 {
                break;
            }
            if n == 4 {
                return Err(malformed("tag number too large", end));
            }
        }
    }
    Ok((end, constructed))
}

/// The length octets starting at `pos`: (end of the length octets, `None` if indefinite).
fn read_length(input: &[u8], pos: usize) -> Result<(usize, Option<usize>), Error> {
    let first = *input
        .get(pos)
        .ok_or_else(|| malformed("truncated length", pos))?;
    match first {
        0x00..=0x7f => Ok((pos + 1, Some(usize::from(first)))),
        0x80 => Ok((pos + 1, None)),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let bytes = input
                .get(pos + 1..pos + 1 + n)
                .ok_or_else(|| malformed("truncated length", pos))?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            Ok((pos + 1 + n, Some(len)))
        }
        _ => Err(malformed("length does not fit", pos)),
    }
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = &bytes[skip..];
    match significant {
        [] => out.push(0),
        [b] if *b < 0x80 => out.push(*b),
        _ => {
            // At most size_of::<usize>() octets: the count always fits in the low 7 bits.
            let count = u8::try_from(significant.len()).unwrap_or(0x7f);
            out.push(0x80 | count);
            out.extend_from_slice(significant);
        }
    }
}

fn is_eoc(input: &[u8], pos: usize) -> bool {
    input.get(pos..pos + 2) == Some(&[0, 0][..])
}

/// The position after the value at `pos` if [`element`] would copy it
/// unchanged and without error: definite, minimally encoded lengths, no
/// constructed OCTET STRING, no end-of-contents, children exactly filling
/// their parent, at most [`MAX_DEPTH`] deep. `None` otherwise, whatever
/// the reason.
fn der_end(input: &[u8], pos: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (tag_end, constructed) = read_tag(input, pos).ok()?;
    let (len_end, len) = match read_length(input, tag_end).ok()? {
        (end, Some(len)) => (end, len),
        (_, None) => return None,
    };
    // The length octets are what push_length writes: short form below
    // 0x80, otherwise no leading zero octet.
    let significant = (usize::BITS - len.leading_zeros()).div_ceil(8) as usize;
    let minimal = if len < 0x80 { 1 } else { 1 + significant };
    if len_end - tag_end != minimal {
        return None;
    }
    let end = len_end.checked_add(len).filter(|e| *e <= input.len())?;
    let first = input[pos];
    if !constructed {
        return (first != 0x00).then_some(end);
    }
    if first == TAG_OCTET_STRING_CONSTRUCTED {
        return None;
    }
    let window = &input[..end];
    let mut child = len_end;
    while child < end {
        child = der_end(window, child, depth + 1)?;
    }
    Some(end)
}

/// Normalises the value at `pos` into `out`, returning the position after it.
fn element(input: &[u8], pos: usize, depth: usize, out: &mut Vec<u8>) -> Result<usize, Error> {
    if depth > MAX_DEPTH {
        return Err(malformed("nesting too deep", pos));
    }
    let (tag_end, constructed) = read_tag(input, pos)?;
    let tag = &input[pos..tag_end];
    let (len_end, length) = read_length(input, tag_end)?;
    if !constructed {
        let len = length.ok_or_else(|| malformed("indefinite length on a primitive value", pos))?;
        let content = input
            .get(len_end..len_end.saturating_add(len))
            .ok_or_else(|| malformed("truncated value", pos))?;
        if tag == [0x00] {
            return Err(malformed("unexpected end-of-contents", pos));
        }
        out.extend_from_slice(tag);
        push_length(out, len);
        out.extend_from_slice(content);
        return Ok(len_end + len);
    }

    let mut body = Vec::new();
    let end;
    if tag == [TAG_OCTET_STRING_CONSTRUCTED] {
        end = children(input, len_end, length, &mut body, |input, pos, body| {
            octet_segments(input, pos, depth + 1, body)
        })?;
        out.push(TAG_OCTET_STRING);
    } else {
        end = children(input, len_end, length, &mut body, |input, pos, body| {
            element(input, pos, depth + 1, body)
        })?;
        out.extend_from_slice(tag);
    }
    push_length(out, body.len());
    out.extend_from_slice(&body);
    Ok(end)
}

/// Walks the children of a constructed value whose content starts at `start`, calling
/// `each` for every child; returns the position after the value (after the end-of-contents
/// marker when `length` is `None`).
fn children(
    input: &[u8],
    start: usize,
    length: Option<usize>,
    body: &mut Vec<u8>,
    mut each: impl FnMut(&[u8], usize, &mut Vec<u8>) -> Result<usize, Error>,
) -> Result<usize, Error> {
    match length {
        Some(len) => {
            let end = start
                .checked_add(len)
                .filter(|e| *e <= input.len())
                .ok_or_else(|| malformed("truncated value", start))?;
            // Children must stay inside the parent: parse them from a window ending at `end`.
            let window = &input[..end];
            let mut pos = start;
            while pos < end {
                pos = each(window, pos, body)?;
            }
            Ok(end)
        }
        None => {
            let mut pos = start;
            loop {
                if pos >= input.len() {
                    return Err(malformed("missing end-of-contents", pos));
                }
                if is_eoc(input, pos) {
                    return Ok(pos + 2);
                }
                pos = each(input, pos, body)?;
            }
        }
    }
}

/// Appends the content octets of an OCTET STRING segment (primitive or constructed) to
/// `body`, returning the position after it.
fn octet_segments(
    input: &[u8],
    pos: usize,
    depth: usize,
    body: &mut Vec<u8>,
) -> Result<usize, Error> {
    if depth > MAX_DEPTH {
        return Err(malformed("nesting too deep", pos));
    }
    let (tag_end, _) = read_tag(input, pos)?;
    let (len_end, length) = read_length(input, tag_end)?;
    match &input[pos..tag_end] {
        [TAG_OCTET_STRING] => {
            let len = length.ok_or_else(|| malformed("indefinite primitive OCTET STRING", pos))?;
            let content = input
                .get(len_end..len_end.saturating_add(len))
                .ok_or_else(|| malformed("truncated value", pos))?;
            body.extend_from_slice(content);
            Ok(len_end + len)
        }
        [TAG_OCTET_STRING_CONSTRUCTED] => {
            children(input, len_end, length, body, |input, pos, body| {
                octet_segments(input, pos, depth + 1, body)
            })
        }
        _ => Err(malformed(
            "constructed OCTET STRING holds something else",
            pos,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn der_is_left_alone() {
        let der = hex!("30 08 02 01 05 04 03 61 62 63");
        let (out, enc) = to_der(&der).unwrap();
        assert_eq!(out, der);
        assert_eq!(enc, Encoding::Der);
    }

    #[test]
    fn indefinite_lengths_and_segments_become_der() {
        // SEQUENCE (indefinite) { [0] (indefinite) { OCTET STRING (constructed, indefinite)
        //   { "ab", "c" } } INTEGER 5 }
        let ber = hex!("30 80 a0 80 24 80 04 02 61 62 04 01 63 00 00 00 00 02 01 05 00 00");
        let (out, enc) = to_der(&ber).unwrap();
        assert_eq!(out, hex!("30 0a a0 05 04 03 61 62 63 02 01 05"));
        assert_eq!(enc, Encoding::Ber);
        // Idempotent.
        assert_eq!(to_der(&out).unwrap(), (out.clone(), Encoding::Der));
    }

    #[test]
    fn nested_constructed_octet_strings_and_long_lengths() {
        let mut ber = vec![0x24, 0x80, 0x24, 0x80];
        let seg = vec![0x41u8; 300];
        ber.extend_from_slice(&[0x04, 0x82, 0x01, 0x2c]);
        ber.extend_from_slice(&seg);
        ber.extend_from_slice(&[0, 0]);
        // Non-minimal definite length.
        ber.extend_from_slice(&[0x04, 0x81, 0x01, 0x42]);
        ber.extend_from_slice(&[0, 0]);
        let (out, enc) = to_der(&ber).unwrap();
        assert_eq!(enc, Encoding::Ber);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2d]);
        assert_eq!(&out[4..304], &seg[..]);
        assert_eq!(out[304], 0x42);
        assert_eq!(out.len(), 305);
    }

    #[test]
    fn rejects_malformed_input() {
        let bad: &[&[u8]] = &[
            &[],
            &hex!("30"),
            &hex!("30 05 02 01"),
            &hex!("04 80 61 00 00"),             // indefinite primitive
            &hex!("30 80 02 01 05"),             // missing EOC
            &hex!("30 03 02 01 05 00"),          // trailing octet
            &hex!("00 00"),                      // EOC at top level
            &hex!("24 80 02 01 05 00 00"),       // INTEGER inside constructed OCTET STRING
            &hex!("30 85 01 00 00 00 00"),       // 5-octet length
            &hex!("30 04 30 80 00 00 00"),       // EOC... then child overruns parent
            &hex!("30 02 02 05 01 02 03 04 05"), // child longer than parent
        ];
        for b in bad {
            assert!(
                matches!(to_der(b), Err(Error::Malformed(_))),
                "{b:02x?} should be rejected"
            );
        }
    }

    /// The walk that takes DER as it is agrees with the rewrite on every
    /// input: vectors of every kind and mutations of a nested value.
    #[test]
    fn the_der_walk_agrees_with_the_rewrite() {
        let mut inputs: Vec<Vec<u8>> = vec![
            hex!("30 08 02 01 05 04 03 61 62 63").to_vec(),
            hex!("30 80 a0 80 24 80 04 02 61 62 04 01 63 00 00 00 00 02 01 05 00 00").to_vec(),
            hex!("30 81 03 02 01 05").to_vec(), // non-minimal long form
            hex!("30 82 00 03 02 01 05").to_vec(), // leading zero length octet
            hex!("30 04 00 00 02 00").to_vec(), // end-of-contents inside a definite value
            hex!("24 03 04 01 61").to_vec(),    // constructed OCTET STRING, definite
            hex!("30 03 02 01 05 00").to_vec(),
            hex!("1f 81 00 00").to_vec(), // high tag number
            hex!("1f 80 01 00").to_vec(), // non-minimal high tag number
            hex!("3f 81 01 02 04 01").to_vec(),
            vec![],
        ];
        let mut long = vec![0x04, 0x82, 0x01, 0x2c];
        long.extend_from_slice(&[0x41; 300]);
        inputs.push(long);
        let mut nested = Vec::new();
        for _ in 0..MAX_DEPTH + 2 {
            nested.extend_from_slice(&[0x30, 0x00]);
        }
        inputs.push(nested);
        let mut deep = vec![0x02, 0x01, 0x07];
        for _ in 0..MAX_DEPTH + 1 {
            let mut outer = vec![0x30];
            push_length(&mut outer, deep.len());
            outer.extend_from_slice(&deep);
            deep = outer;
        }
        inputs.push(deep);
        // Mutations of a nested value, every octet changed a few ways.
        let base =
            hex!("30 1a a0 0b 30 09 06 03 2a 03 04 04 02 68 69 02 01 05 31 06 13 04 74 65 73 74");
        for i in 0..base.len() {
            for v in [
                0x00,
                0x04,
                0x24,
                0x30,
                0x80,
                0x81,
                0x7f,
                0xff,
                base[i] ^ 0x20,
            ] {
                let mut m = base.to_vec();
                m[i] = v;
                inputs.push(m);
            }
        }
        for input in &inputs {
            let fast = to_der(input);
            let slow = rewrite(input);
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{input:02x?}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{input:02x?}: {fast:?} against {slow:?}"),
            }
        }
    }

    #[test]
    fn depth_is_bounded() {
        // 10 000 nested indefinite SEQUENCEs must fail cleanly, not overflow the stack.
        let mut ber = Vec::new();
        for _ in 0..10_000 {
            ber.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..10_000 {
            ber.extend_from_slice(&[0, 0]);
        }
        assert!(matches!(to_der(&ber), Err(Error::Malformed(m)) if m.contains("deep")));
        let mut ok = Vec::new();
        for _ in 0..MAX_DEPTH {
            ok.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..MAX_DEPTH {
            ok.extend_from_slice(&[0, 0]);
        }
        assert!(to_der(&ok).is_ok());
        // Deeply nested constructed OCTET STRINGs likewise.
        let mut octets = Vec::new();
        for _ in 0..10_000 {
            octets.extend_from_slice(&[0x24, 0x80]);
        }
        for _ in 0..10_000 {
            octets.extend_from_slice(&[0, 0]);
        }
        assert!(to_der(&octets).is_err());
    }
}
