//! The canonical binary encoding of witness state, evidence and messages.
//!
//! The conventions of `kvitto-core`'s codec: integers are big-endian and fixed width, text
//! carries a `u16` length and must be UTF-8, blobs carry a `u32` length, options are a tag byte
//! `0` or `1` followed by the value. Every decoder consumes its whole input, checks each length
//! against a named limit before reading, and rejects trailing bytes and unknown tags, so every
//! value has exactly one encoding. `specs/witness.md` gives the layouts.

use kvitto_tlog::Hash;

/// Why bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("input ends early: needed {needed} more bytes for {field}")]
    Truncated { field: &'static str, needed: usize },
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    #[error("input of {size} bytes is larger than {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("field {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl DecodeError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> DecodeError {
        DecodeError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Appends canonical encodings to a buffer. Callers bound every length before writing it.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer::default()
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Writer {
        self.buf.push(value);
        self
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Writer {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn fixed(&mut self, bytes: &[u8]) -> &mut Writer {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Text with a `u16` length. Every text this crate writes is a key name of at most 255
    /// bytes, so the length always fits.
    pub(crate) fn text(&mut self, text: &str) -> &mut Writer {
        let len = u16::try_from(text.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf
            .extend_from_slice(&text.as_bytes()[..usize::from(len)]);
        self
    }

    /// A blob with a `u32` length. Every blob this crate writes is bounded by a limit far below
    /// 4 GiB, so the length always fits.
    pub(crate) fn blob(&mut self, bytes: &[u8]) -> &mut Writer {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(&bytes[..len as usize]);
        self
    }

    /// Hashes behind a one-byte count; callers bound the count by
    /// [`crate::limits::PROOF_HASHES_MAX`], which fits a byte.
    pub(crate) fn hashes_u8(&mut self, hashes: &[Hash]) -> &mut Writer {
        let count = u8::try_from(hashes.len()).unwrap_or(u8::MAX);
        self.u8(count);
        for hash in &hashes[..usize::from(count)] {
            self.fixed(hash.as_bytes());
        }
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads canonical encodings from a byte slice.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of at most `max` bytes.
    pub(crate) fn new(bytes: &'a [u8], max: usize) -> Result<Reader<'a>, DecodeError> {
        if bytes.len() > max {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                max,
            });
        }
        Ok(Reader { rest: bytes })
    }

    pub(crate) fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        let Some((head, tail)) = self.rest.split_at_checked(n) else {
            let needed = n - self.rest.len();
            return Err(DecodeError::Truncated { field, needed });
        };
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        let [byte] = self.array::<1>(field)?;
        Ok(byte)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn hash(&mut self, field: &'static str) -> Result<Hash, DecodeError> {
        Ok(Hash(self.array(field)?))
    }

    /// UTF-8 text of at most `max` bytes.
    pub(crate) fn text(&mut self, field: &'static str, max: usize) -> Result<String, DecodeError> {
        let len = usize::from(u16::from_be_bytes(self.array(field)?));
        if len > max {
            return Err(DecodeError::invalid(
                field,
                format!("{len} bytes, at most {max} allowed"),
            ));
        }
        let bytes = self.take(field, len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::invalid(field, "not utf-8"))
    }

    /// A blob of at most `max` bytes.
    pub(crate) fn blob(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(field)?;
        match usize::try_from(len) {
            Ok(len) if len <= max => self.take(field, len),
            _ => Err(DecodeError::invalid(
                field,
                format!("{len} bytes, at most {max} allowed"),
            )),
        }
    }

    /// At most `max` hashes behind a one-byte count.
    pub(crate) fn hashes_u8(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Vec<Hash>, DecodeError> {
        let count = usize::from(self.u8(field)?);
        if count > max {
            return Err(DecodeError::invalid(
                field,
                format!("{count} hashes, at most {max} allowed"),
            ));
        }
        (0..count).map(|_| self.hash(field)).collect()
    }

    /// An option tag: `0` is absent, `1` present.
    pub(crate) fn option_tag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::invalid(
                field,
                format!("option tag {tag}, expected 0 or 1"),
            )),
        }
    }

    /// Ends decoding; any remaining byte is an error.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_rejects_trailing_and_oversized() {
        let mut writer = Writer::new();
        writer
            .u8(7)
            .text("log.example")
            .blob(b"abc")
            .hashes_u8(&[Hash([1; 32])]);
        let bytes = writer.finish();
        let mut reader = Reader::new(&bytes, 100).unwrap();
        assert_eq!(reader.u8("a").unwrap(), 7);
        assert_eq!(reader.text("b", 11).unwrap(), "log.example");
        assert_eq!(reader.blob("c", 3).unwrap(), b"abc");
        assert_eq!(reader.hashes_u8("d", 1).unwrap(), [Hash([1; 32])]);
        reader.finish().unwrap();

        let mut longer = bytes.clone();
        longer.push(0);
        let mut reader = Reader::new(&longer, 100).unwrap();
        reader.take("all", bytes.len()).unwrap();
        assert_eq!(reader.finish(), Err(DecodeError::TrailingBytes(1)));
        assert!(matches!(
            Reader::new(&bytes, 10),
            Err(DecodeError::TooLarge { max: 10, .. })
        ));
    }

    #[test]
    fn lengths_beyond_limits_are_rejected_before_reading() {
        let mut writer = Writer::new();
        writer.blob(&[0; 10]);
        let bytes = writer.finish();
        let error = Reader::new(&bytes, 100).unwrap().blob("x", 9).unwrap_err();
        assert!(matches!(error, DecodeError::Invalid { field: "x", .. }));
        let error = Reader::new(&[2], 1).unwrap().option_tag("y").unwrap_err();
        assert!(matches!(error, DecodeError::Invalid { field: "y", .. }));
        let error = Reader::new(&[0, 0, 0, 5, 1], 5)
            .unwrap()
            .blob("z", 9)
            .unwrap_err();
        assert_eq!(
            error,
            DecodeError::Truncated {
                field: "z",
                needed: 4
            }
        );
    }
}
