//! C2SP tlog-checkpoint: the signed tree head of a log, as note text.
//!
//! ```text
//! <origin>
//! <tree size in decimal>
//! <root hash in base64>
//! [<extension line>...]
//! ```
//!
//! Every line ends in a newline and none is empty.

use std::fmt;

use crate::limits::{CHECKPOINT_EXTENSIONS_MAX, KEY_NAME_SIZE_MAX};
use crate::merkle::{Hash, EMPTY_ROOT};
use crate::note::{Ed25519Signer, Ed25519Verifier, Note, NoteError, VerifiedNote, Verifier};
use crate::text::parse_decimal;

/// A tree head: the log's origin, its size, its root, and opaque extension lines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

/// Why a checkpoint was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint text does not end in a newline")]
    NotNewlineTerminated,
    #[error("checkpoint has {lines} lines, expected at least 3")]
    TooFewLines { lines: usize },
    #[error("checkpoint line {line} is empty")]
    EmptyLine { line: usize },
    #[error("checkpoint line {line} contains a control character")]
    ControlCharacter { line: usize },
    #[error("checkpoint origin is longer than {max} bytes")]
    OriginTooLong { max: usize },
    #[error("checkpoint tree size is not a decimal without leading zeroes")]
    InvalidSize,
    #[error("checkpoint root hash is not base64 of 32 bytes")]
    InvalidRoot,
    #[error("checkpoint has more than {max} extension lines")]
    TooManyExtensions { max: usize },
    #[error("checkpoint of the empty tree must have the empty tree's root")]
    EmptyTreeRoot,
    #[error("checkpoint note is invalid")]
    Note(#[from] NoteError),
    #[error("checkpoint origin {origin:?} is not the log key name {key_name:?}")]
    OriginMismatch { origin: String, key_name: String },
}

impl Checkpoint {
    /// Checks the origin and extension lines: non-empty single lines without control characters.
    /// A checkpoint of size 0 must have [`EMPTY_ROOT`], the only root an empty tree has.
    pub fn new(
        origin: impl Into<String>,
        size: u64,
        root: Hash,
        extensions: Vec<String>,
    ) -> Result<Checkpoint, CheckpointError> {
        let origin = origin.into();
        check_line(&origin, 1)?;
        if origin.len() > KEY_NAME_SIZE_MAX {
            return Err(CheckpointError::OriginTooLong {
                max: KEY_NAME_SIZE_MAX,
            });
        }
        if size == 0 && root != EMPTY_ROOT {
            return Err(CheckpointError::EmptyTreeRoot);
        }
        if extensions.len() > CHECKPOINT_EXTENSIONS_MAX {
            return Err(CheckpointError::TooManyExtensions {
                max: CHECKPOINT_EXTENSIONS_MAX,
            });
        }
        for (position, extension) in extensions.iter().enumerate() {
            check_line(extension, position + 4)?;
        }
        Ok(Checkpoint {
            origin,
            size,
            root,
            extensions,
        })
    }

    /// Parses a checkpoint body strictly: the exact text [`Checkpoint::to_text`] produces.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NotNewlineTerminated)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines { lines: lines.len() });
        };
        for (position, line) in [origin, size, root].into_iter().enumerate() {
            check_line(line, position + 1)?;
        }
        if extensions.len() > CHECKPOINT_EXTENSIONS_MAX {
            return Err(CheckpointError::TooManyExtensions {
                max: CHECKPOINT_EXTENSIONS_MAX,
            });
        }
        let size = parse_decimal(size).ok_or(CheckpointError::InvalidSize)?;
        let root = Hash::from_base64(root).map_err(|_| CheckpointError::InvalidRoot)?;
        let extensions = extensions.iter().map(|&line| line.to_owned()).collect();
        Checkpoint::new(*origin, size, root, extensions)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> &Hash {
        &self.root
    }

    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: origin, size, root and extensions, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        text
    }

    /// The checkpoint as a note, unsigned.
    pub fn to_note(&self) -> Result<Note, NoteError> {
        Note::new(self.to_text())
    }

    /// The checkpoint as a note signed by the log.
    pub fn sign(&self, log: &Ed25519Signer) -> Result<Note, NoteError> {
        let mut note = self.to_note()?;
        note.sign(log)?;
        Ok(note)
    }

    /// Opens a checkpoint note signed by `log`, whose key name must be the origin (as
    /// tlog-policy requires of log keys). Other signatures are kept unverified.
    pub fn open(note: &[u8], log: &Ed25519Verifier) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(note)?.open(&[log])?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != log.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                key_name: log.name().to_owned(),
            });
        }
        Ok(SignedCheckpoint { checkpoint, note })
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A checkpoint and the note it was read from, with its verified log signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: VerifiedNote,
}

/// Rejects empty lines and ASCII control characters (newline included) in one checkpoint line.
fn check_line(line: &str, number: usize) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::EmptyLine { line: number });
    }
    if line.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::ControlCharacter { line: number });
    }
    Ok(())
}
