//! C2SP signed notes, their Ed25519 keys, and the project's one Ed25519 verification rule.
//!
//! A note is UTF-8 text ending in a newline, a blank line, and one or more signature lines
//! `— <key name> base64(key ID || signature)`. [`Note::parse`] checks only the syntax;
//! [`Note::open`] verifies the signatures of known keys: a signature whose (name, key ID) matches
//! no verifier is kept as unverified, one that matches but fails rejects the whole note, and at
//! least one must verify.
//!
//! Every Ed25519 signature in kvitto is checked by [`ed25519_verify_strict`], which is
//! ed25519-dalek's `verify_strict`: it rejects non-canonical encodings and small-order keys and
//! `R` points, so exactly one rule decides what a valid signature is everywhere.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::limits::{
    KEY_NAME_SIZE_MAX, NOTE_SIGNATURES_MAX, NOTE_SIGNATURE_SIZE_MAX, NOTE_SIZE_MAX,
};
use crate::text::{decode_base64, encode_base64};

/// Signature type byte of plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;

/// The signature line prefix: em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Prefix of the private key string form, as golang.org/x/mod/sumdb/note writes it.
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// The 32-bit key ID that, with the key name, identifies a key in signature lines.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl KeyId {
    /// `SHA-256(name || 0x0A || signature type || public key)[:4]`, big-endian.
    pub fn derive(name: &str, signature_type: u8, public_key: &[u8]) -> KeyId {
        let mut sha = Sha256::new();
        sha.update(name.as_bytes());
        sha.update([b'\n', signature_type]);
        sha.update(public_key);
        let digest = sha.finalize();
        KeyId(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a note was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("note of {size} bytes is larger than {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("note is not valid utf-8")]
    NotUtf8,
    #[error("note contains control character {byte:#04x}")]
    ControlCharacter { byte: u8 },
    #[error("note text does not end in a newline")]
    TextNotNewlineTerminated,
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    #[error("note has no signature lines")]
    NoSignatures,
    #[error("note signature line {line} is malformed")]
    MalformedSignatureLine { line: usize },
    #[error("note has more than {max} signatures")]
    TooManySignatures { max: usize },
    #[error("key name {name:?} is empty, too long, or contains a space, a plus or a control")]
    InvalidKeyName { name: String },
    #[error("signature of {size} bytes is empty or larger than {max} bytes")]
    InvalidSignatureSize { size: usize, max: usize },
    #[error("signature by known key {name}+{key_id} does not verify")]
    InvalidSignature { name: String, key_id: KeyId },
    #[error("no signature by a known key")]
    NoVerifiedSignature,
}

/// Why a key string or key was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is not of the form name+hex key id+base64 key")]
    Malformed,
    #[error("key name {name:?} is empty, too long, or contains a space, a plus or a control")]
    InvalidName { name: String },
    #[error("key has signature type {found:#04x}, expected {expected:#04x}")]
    WrongType { found: u8, expected: u8 },
    #[error("key material has {actual} bytes, expected {expected}")]
    WrongLength { expected: usize, actual: usize },
    #[error("public key is not a valid ed25519 point")]
    InvalidPublicKey,
    #[error("public key has small order")]
    WeakPublicKey,
    #[error("key id {found} does not match {derived} derived from the key")]
    KeyIdMismatch { found: KeyId, derived: KeyId },
}

/// Whether `name` can name a key: non-empty, at most [`KEY_NAME_SIZE_MAX`] bytes, and without
/// Unicode white space, `+` or ASCII control characters.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= KEY_NAME_SIZE_MAX
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_ascii_control())
}

/// Verifies an Ed25519 signature under the project's single rule: ed25519-dalek's
/// `verify_strict` (RFC 8032 verification without the cofactor, rejecting non-canonical point
/// and scalar encodings and small-order public keys and `R` points).
pub fn ed25519_verify_strict(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(public_key)
        .is_ok_and(|key| verify_strict_with(&key, message, signature))
}

pub(crate) fn verify_strict_with(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
        return false;
    };
    key.verify_strict(message, &signature).is_ok()
}

/// One signature line: the key name, the key ID and the signature bytes after the key ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    name: String,
    key_id: KeyId,
    bytes: Vec<u8>,
}

impl Signature {
    pub fn new(name: &str, key_id: KeyId, bytes: Vec<u8>) -> Result<Signature, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName {
                name: name.to_owned(),
            });
        }
        let size = 4 + bytes.len();
        if bytes.is_empty() || size > NOTE_SIGNATURE_SIZE_MAX {
            return Err(NoteError::InvalidSignatureSize {
                size,
                max: NOTE_SIGNATURE_SIZE_MAX,
            });
        }
        Ok(Signature {
            name: name.to_owned(),
            key_id,
            bytes,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The signature bytes after the key ID.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether this signature claims to be by `verifier`'s key.
    pub fn is_by(&self, verifier: &dyn Verifier) -> bool {
        self.name == verifier.name() && self.key_id == verifier.key_id()
    }

    /// The signature line, with its final newline.
    pub fn line(&self) -> String {
        let mut payload = Vec::with_capacity(4 + self.bytes.len());
        payload.extend_from_slice(&self.key_id.0.to_be_bytes());
        payload.extend_from_slice(&self.bytes);
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            encode_base64(&payload)
        )
    }

    /// Parses a signature line without its newline; `number` counts from 1, for errors.
    fn parse_line(line: &str, number: usize) -> Result<Signature, NoteError> {
        let malformed = NoteError::MalformedSignatureLine { line: number };
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(malformed.clone())?;
        let (name, encoded) = rest.split_once(' ').ok_or(malformed.clone())?;
        let payload = decode_base64(encoded).ok_or(malformed)?;
        let Some((key_id, bytes)) = payload.split_first_chunk::<4>() else {
            let (size, max) = (payload.len(), NOTE_SIGNATURE_SIZE_MAX);
            return Err(NoteError::InvalidSignatureSize { size, max });
        };
        Signature::new(name, KeyId(u32::from_be_bytes(*key_id)), bytes.to_vec())
    }
}

/// A key that checks note signatures.
pub trait Verifier {
    fn name(&self) -> &str;

    fn key_id(&self) -> KeyId;

    /// Whether `signature` (the bytes after the key ID) is valid for the note `text`.
    fn verify(&self, text: &str, signature: &[u8]) -> bool;
}

/// A signed note: its text and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<Signature>,
}

/// A note whose signatures by known keys all verified, at least one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    note: Note,
    verified: Vec<VerifiedSignature>,
    unverified: Vec<Signature>,
}

/// A signature that verified, and the position of its verifier in the list given to
/// [`Note::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub verifier: usize,
    pub signature: Signature,
}

impl Note {
    /// An unsigned note; `text` must end in a newline and contain no control character other
    /// than newline.
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        check_characters(&text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::TextNotNewlineTerminated);
        }
        if text.len() > NOTE_SIZE_MAX {
            return Err(NoteError::TooLarge {
                size: text.len(),
                max: NOTE_SIZE_MAX,
            });
        }
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note's syntax; no signature is verified.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > NOTE_SIZE_MAX {
            return Err(NoteError::TooLarge {
                size: bytes.len(),
                max: NOTE_SIZE_MAX,
            });
        }
        let message = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_characters(message)?;
        // The text ends at the last blank line, and includes the newline before it.
        let split = message.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, block) = (&message[..=split], &message[split + 2..]);
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let lines = block
            .strip_suffix('\n')
            .ok_or(NoteError::MalformedSignatureLine {
                line: block.split('\n').count(),
            })?;
        let mut signatures = Vec::new();
        for (number, line) in lines.split('\n').enumerate() {
            if signatures.len() == NOTE_SIGNATURES_MAX {
                return Err(NoteError::TooManySignatures {
                    max: NOTE_SIGNATURES_MAX,
                });
            }
            signatures.push(Signature::parse_line(line, number + 1)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Appends a signature line.
    pub fn push_signature(&mut self, signature: Signature) -> Result<(), NoteError> {
        let size = self.to_string().len() + signature.line().len();
        if self.signatures.len() == NOTE_SIGNATURES_MAX {
            return Err(NoteError::TooManySignatures {
                max: NOTE_SIGNATURES_MAX,
            });
        }
        if size > NOTE_SIZE_MAX {
            return Err(NoteError::TooLarge {
                size,
                max: NOTE_SIZE_MAX,
            });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Signs the text and appends the signature.
    pub fn sign(&mut self, signer: &Ed25519Signer) -> Result<(), NoteError> {
        let signature = signer.sign(&self.text);
        self.push_signature(signature)
    }

    /// Verifies the signatures of known keys, as signed-note requires.
    ///
    /// A signature line matches a verifier when both the key name and the key ID are equal.
    /// Lines matching no verifier are returned as unverified (repeats once); a matching line
    /// that fails verification rejects the note; repeated lines of one key count once; and at
    /// least one line must verify.
    pub fn open(self, verifiers: &[&dyn Verifier]) -> Result<VerifiedNote, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut unverified: Vec<Signature> = Vec::new();
        for signature in &self.signatures {
            let known = verifiers
                .iter()
                .enumerate()
                .find(|(_, v)| signature.is_by(**v));
            let Some((position, verifier)) = known else {
                if !unverified.contains(signature) {
                    unverified.push(signature.clone());
                }
                continue;
            };
            if verified.iter().any(|v| v.verifier == position) {
                continue;
            }
            if !verifier.verify(&self.text, &signature.bytes) {
                return Err(NoteError::InvalidSignature {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                });
            }
            verified.push(VerifiedSignature {
                verifier: position,
                signature: signature.clone(),
            });
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature);
        }
        Ok(VerifiedNote {
            note: self,
            verified,
            unverified,
        })
    }
}

impl fmt::Display for Note {
    /// The signed note: text, blank line, signature lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for signature in &self.signatures {
            f.write_str(&signature.line())?;
        }
        Ok(())
    }
}

impl VerifiedNote {
    pub fn note(&self) -> &Note {
        &self.note
    }

    pub fn text(&self) -> &str {
        &self.note.text
    }

    /// The signatures that verified, one per verifier, in note order.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }

    /// The signatures of unknown keys, which were not checked.
    pub fn unverified(&self) -> &[Signature] {
        &self.unverified
    }

    /// Whether the verifier at `position` in the list given to [`Note::open`] signed.
    pub fn is_signed_by(&self, position: usize) -> bool {
        self.verified.iter().any(|v| v.verifier == position)
    }

    pub fn into_note(self) -> Note {
        self.note
    }
}

/// Rejects ASCII control characters other than newline.
fn check_characters(text: &str) -> Result<(), NoteError> {
    match text.bytes().find(|&b| b < 0x20 && b != b'\n') {
        Some(byte) => Err(NoteError::ControlCharacter { byte }),
        None => Ok(()),
    }
}

/// An Ed25519 key pair with a name and a signature type: the shared part of the note signer and
/// the cosigner, which differ only in the type byte and in what they sign.
#[derive(Clone)]
pub(crate) struct NamedSigningKey {
    name: String,
    key_id: KeyId,
    signature_type: u8,
    key: SigningKey,
}

/// The public half of a [`NamedSigningKey`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct NamedVerifyingKey {
    name: String,
    key_id: KeyId,
    signature_type: u8,
    key: VerifyingKey,
}

impl NamedSigningKey {
    pub(crate) fn new(name: &str, signature_type: u8, key: SigningKey) -> Result<Self, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::InvalidName {
                name: name.to_owned(),
            });
        }
        let key_id = KeyId::derive(name, signature_type, key.verifying_key().as_bytes());
        Ok(NamedSigningKey {
            name: name.to_owned(),
            key_id,
            signature_type,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || 32-byte seed)>`.
    pub(crate) fn parse(text: &str, signature_type: u8) -> Result<Self, KeyError> {
        let rest = text
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(KeyError::Malformed)?;
        let (name, key_id, seed) = parse_key_parts(rest, signature_type)?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongLength {
                expected: 32,
                actual: seed.len(),
            })?;
        let key = NamedSigningKey::new(&name, signature_type, SigningKey::from_bytes(&seed))?;
        if key.key_id != key_id {
            return Err(KeyError::KeyIdMismatch {
                found: key_id,
                derived: key.key_id,
            });
        }
        Ok(key)
    }

    pub(crate) fn to_private_key_string(&self) -> Zeroizing<String> {
        let mut material = Zeroizing::new(Vec::with_capacity(33));
        material.push(self.signature_type);
        material.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!(
            "{PRIVATE_KEY_PREFIX}{}+{}+{}",
            self.name,
            self.key_id,
            encode_base64(&material)
        ))
    }

    pub(crate) fn verifying_key(&self) -> NamedVerifyingKey {
        NamedVerifyingKey {
            name: self.name.clone(),
            key_id: self.key_id,
            signature_type: self.signature_type,
            key: self.key.verifying_key(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for NamedSigningKey {
    /// Names the key without printing the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}+{})", self.name, self.key_id)
    }
}

impl NamedVerifyingKey {
    pub(crate) fn new(
        name: &str,
        signature_type: u8,
        public_key: &[u8; 32],
    ) -> Result<Self, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::InvalidName {
                name: name.to_owned(),
            });
        }
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| KeyError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::WeakPublicKey);
        }
        let key_id = KeyId::derive(name, signature_type, public_key);
        Ok(NamedVerifyingKey {
            name: name.to_owned(),
            key_id,
            signature_type,
            key,
        })
    }

    /// Parses a vkey: `<name>+<hex key ID>+<base64(type || 32-byte public key)>`.
    pub(crate) fn parse(text: &str, signature_type: u8) -> Result<Self, KeyError> {
        let (name, key_id, public_key) = parse_key_parts(text, signature_type)?;
        let public_key: [u8; 32] =
            public_key
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::WrongLength {
                    expected: 32,
                    actual: public_key.len(),
                })?;
        let key = NamedVerifyingKey::new(&name, signature_type, &public_key)?;
        if key.key_id != key_id {
            return Err(KeyError::KeyIdMismatch {
                found: key_id,
                derived: key.key_id,
            });
        }
        Ok(key)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(crate) fn public_key(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        verify_strict_with(&self.key, message, signature)
    }
}

impl fmt::Display for NamedVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(33);
        material.push(self.signature_type);
        material.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            self.key_id,
            encode_base64(&material)
        )
    }
}

impl fmt::Debug for NamedVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({self})")
    }
}

/// Splits `<name>+<hex key ID>+<base64(type || key)>` and checks the type byte.
fn parse_key_parts(text: &str, signature_type: u8) -> Result<(String, KeyId, Vec<u8>), KeyError> {
    // The base64 key material may itself contain plus signs; the name and ID cannot.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Malformed);
    };
    if !is_valid_key_name(name) {
        return Err(KeyError::InvalidName {
            name: name.to_owned(),
        });
    }
    let is_lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if id.len() != 8 || !id.bytes().all(is_lower_hex) {
        return Err(KeyError::Malformed);
    }
    let key_id = u32::from_str_radix(id, 16).map_err(|_| KeyError::Malformed)?;
    let material = Zeroizing::new(decode_base64(material).ok_or(KeyError::Malformed)?);
    let Some((&found, key)) = material.split_first() else {
        return Err(KeyError::Malformed);
    };
    if found != signature_type {
        return Err(KeyError::WrongType {
            found,
            expected: signature_type,
        });
    }
    Ok((name.to_owned(), KeyId(key_id), key.to_vec()))
}

/// Signs notes with Ed25519 (signature type 0x01).
#[derive(Clone, Debug)]
pub struct Ed25519Signer(NamedSigningKey);

/// Verifies Ed25519 (signature type 0x01) note signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519Verifier(NamedVerifyingKey);

impl Ed25519Signer {
    /// A new random key named `name`.
    pub fn generate<R: CryptoRngCore + ?Sized>(name: &str, rng: &mut R) -> Result<Self, KeyError> {
        NamedSigningKey::new(name, ALG_ED25519, SigningKey::generate(rng)).map(Ed25519Signer)
    }

    /// The key with the RFC 8032 secret `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        NamedSigningKey::new(name, ALG_ED25519, SigningKey::from_bytes(seed)).map(Ed25519Signer)
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        NamedSigningKey::parse(text, ALG_ED25519).map(Ed25519Signer)
    }

    /// The private key string that [`Ed25519Signer::parse`] reads. It is the secret.
    pub fn to_private_key_string(&self) -> Zeroizing<String> {
        self.0.to_private_key_string()
    }

    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier(self.0.verifying_key())
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    pub fn key_id(&self) -> KeyId {
        self.0.key_id()
    }

    /// The signature line of `text`, which is signed as it is.
    pub fn sign(&self, text: &str) -> Signature {
        Signature {
            name: self.0.name().to_owned(),
            key_id: self.0.key_id(),
            bytes: self.0.sign(text.as_bytes()).to_vec(),
        }
    }
}

impl Ed25519Verifier {
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, KeyError> {
        NamedVerifyingKey::new(name, ALG_ED25519, public_key).map(Ed25519Verifier)
    }

    /// Parses a vkey: `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        NamedVerifyingKey::parse(text, ALG_ED25519).map(Ed25519Verifier)
    }

    pub fn public_key(&self) -> &[u8; 32] {
        self.0.public_key()
    }
}

impl Verifier for Ed25519Verifier {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn key_id(&self) -> KeyId {
        self.0.key_id()
    }

    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        self.0.verify(text.as_bytes(), signature)
    }
}

impl fmt::Display for Ed25519Verifier {
    /// The vkey.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Ed25519Verifier {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, KeyError> {
        Ed25519Verifier::parse(text)
    }
}
