//! Strict decoders shared by the text formats.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Parses an ASCII decimal with no sign and no leading zeroes (`0` itself is allowed).
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let is_canonical = match bytes {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        _ => bytes.iter().all(u8::is_ascii_digit),
    };
    if !is_canonical {
        return None;
    }
    text.parse().ok()
}

/// Decodes standard base64 (RFC 4648 section 4) with canonical padding and zero trailing bits,
/// so that every byte string has exactly one accepted encoding.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("10"), Some(10));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1a",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base64_is_canonical() {
        assert_eq!(decode_base64("AA=="), Some(vec![0]));
        for bad in ["AA", "AB==", "AA=", "A===", "AA==\n", " AA==", "AA-_"] {
            assert_eq!(decode_base64(bad), None, "{bad:?}");
        }
    }
}
