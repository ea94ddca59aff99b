//! C2SP tlog-policy: which logs and witnesses a verifier trusts, and the quorum of witnesses
//! whose cosignatures make a checkpoint valid.
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <name>...
//! quorum <name>|none
//! ```
//!
//! Log keys are Ed25519 note keys (type 0x01) named by the log's origin; witness keys are
//! Ed25519 cosignature keys (type 0x04). Keys of other types are rejected, since kvitto could
//! not verify their signatures. The file must be UTF-8 (the specification recommends it); names
//! are compared as bytes.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::cosignature::{Cosignature, CosignatureVerifier};
use crate::limits::{POLICY_GROUPS_MAX, POLICY_LOGS_MAX, POLICY_SIZE_MAX, POLICY_WITNESSES_MAX};
use crate::note::{Ed25519Verifier, KeyError, Note, NoteError, VerifiedNote, Verifier};
use crate::text::parse_decimal;

/// A parsed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    quorum: Quorum,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    pub key: Ed25519Verifier,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    pub name: String,
    pub key: CosignatureVerifier,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyGroup {
    pub name: String,
    /// How many members must have witnessed a checkpoint: at least 1, at most `members.len()`.
    pub threshold: usize,
    pub members: Vec<Member>,
}

/// A group member or the quorum: a witness or a group, by position in the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quorum {
    /// `quorum none`: no cosignature is required.
    None,
    Member(Member),
}

/// Why a policy file was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("policy line {line}: {error}")]
    Line { line: usize, error: LineError },
    #[error("policy has no quorum line")]
    NoQuorum,
}

/// What is wrong with one policy line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("control character {byte:#04x}")]
    ControlCharacter { byte: u8 },
    #[error("unknown keyword {keyword:?}")]
    UnknownKeyword { keyword: String },
    #[error("wrong number of fields")]
    WrongFieldCount,
    #[error("invalid key")]
    InvalidKey(#[source] KeyError),
    #[error("the same public key is listed twice")]
    DuplicateKey,
    #[error("name {name:?} is already defined")]
    DuplicateName { name: String },
    #[error("name none is reserved")]
    ReservedName,
    #[error("name {name:?} is not defined on a preceding line")]
    UndefinedName { name: String },
    #[error("name {name:?} is already a group member")]
    MemberListedTwice { name: String },
    #[error("threshold must be all, any or a decimal from 1 to the number of members")]
    InvalidThreshold,
    #[error("a second quorum line")]
    SecondQuorum,
    #[error("more than {max} logs, witnesses or groups")]
    TooMany { max: usize },
}

/// Why a checkpoint is not valid under a policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("checkpoint note is invalid")]
    Note(#[from] NoteError),
    #[error("checkpoint is invalid")]
    Checkpoint(#[from] CheckpointError),
    #[error("checkpoint for origin {origin:?} is not signed by a log of the policy")]
    NotSignedByLog { origin: String },
    #[error("checkpoint is not cosigned by a quorum of witnesses")]
    QuorumNotMet,
}

/// A checkpoint signed by a policy log and cosigned by a quorum of its witnesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Position of the log in [`Policy::logs`].
    pub log: usize,
    /// The witnesses whose cosignatures verified (position in [`Policy::witnesses`]) and the
    /// timestamps they cosigned at.
    pub cosignatures: Vec<(usize, u64)>,
    pub note: VerifiedNote,
}

impl Policy {
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > POLICY_SIZE_MAX {
            return Err(PolicyError::TooLarge {
                max: POLICY_SIZE_MAX,
            });
        }
        let mut parser = Parser::default();
        for (number, line) in text.split('\n').enumerate() {
            parser.line(line).map_err(|error| PolicyError::Line {
                line: number + 1,
                error,
            })?;
        }
        let Parser {
            logs,
            witnesses,
            groups,
            quorum,
            ..
        } = parser;
        let quorum = quorum.ok_or(PolicyError::NoQuorum)?;
        Ok(Policy {
            logs,
            witnesses,
            groups,
            quorum,
        })
    }

    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    pub fn groups(&self) -> &[PolicyGroup] {
        &self.groups
    }

    pub fn quorum(&self) -> Quorum {
        self.quorum
    }

    /// Whether the witnesses for which `has_cosigned[position]` is true form a quorum.
    pub fn is_quorum_met(&self, has_cosigned: &[bool]) -> bool {
        let is_witnessed = |member: Member, groups: &[bool]| match member {
            Member::Witness(position) => has_cosigned.get(position).copied().unwrap_or(false),
            Member::Group(position) => groups.get(position).copied().unwrap_or(false),
        };
        // Groups only name earlier groups, so one pass in order evaluates them all.
        let mut groups = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let count = group
                .members
                .iter()
                .filter(|&&m| is_witnessed(m, &groups))
                .count();
            groups.push(count >= group.threshold);
        }
        match self.quorum {
            Quorum::None => true,
            Quorum::Member(member) => is_witnessed(member, &groups),
        }
    }

    /// Verifies a checkpoint note: signed by a policy log whose key name is the origin, every
    /// signature by a policy key valid, and cosigned by a quorum of witnesses.
    pub fn verify(&self, note: &[u8]) -> Result<WitnessedCheckpoint, VerifyError> {
        self.verify_note(Note::parse(note)?)
    }

    /// [`Policy::verify`] for a parsed note.
    pub fn verify_note(&self, note: Note) -> Result<WitnessedCheckpoint, VerifyError> {
        let verifiers: Vec<&dyn Verifier> = self
            .logs
            .iter()
            .map(|log| &log.key as &dyn Verifier)
            .chain(
                self.witnesses
                    .iter()
                    .map(|witness| &witness.key as &dyn Verifier),
            )
            .collect();
        let note = note.open(&verifiers)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        let log = self
            .logs
            .iter()
            .enumerate()
            .find_map(|(position, log)| {
                let is_log = note.is_signed_by(position) && log.key.name() == checkpoint.origin();
                is_log.then_some(position)
            })
            .ok_or_else(|| VerifyError::NotSignedByLog {
                origin: checkpoint.origin().to_owned(),
            })?;
        let mut has_cosigned = vec![false; self.witnesses.len()];
        let mut cosignatures = Vec::new();
        for verified in note.verified() {
            let Some(witness) = verified.verifier.checked_sub(self.logs.len()) else {
                continue;
            };
            // The verifier accepted it, so it decodes.
            if let Ok(cosignature) = Cosignature::from_bytes(verified.signature.bytes()) {
                cosignatures.push((witness, cosignature.timestamp));
            }
            if let Some(flag) = has_cosigned.get_mut(witness) {
                *flag = true;
            }
        }
        if !self.is_quorum_met(&has_cosigned) {
            return Err(VerifyError::QuorumNotMet);
        }
        Ok(WitnessedCheckpoint {
            checkpoint,
            log,
            cosignatures,
            note,
        })
    }
}

#[derive(Default)]
struct Parser {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    quorum: Option<Quorum>,
    /// Names already listed as a group member; each may be listed once in the whole policy.
    members: Vec<String>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), LineError> {
        // Allowed: tab, newline, 0x20..=0x7e, and any byte with the high bit set.
        if let Some(byte) = line
            .bytes()
            .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(LineError::ControlCharacter { byte });
        }
        let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        match fields.as_slice() {
            [] => Ok(()),
            [first, ..] if first.starts_with('#') => Ok(()),
            ["log", key, url @ ..] => self.log(key, url),
            ["witness", name, key, url @ ..] => self.witness(name, key, url),
            ["group", name, threshold, members @ ..] => self.group(name, threshold, members),
            ["quorum", name] => self.quorum(name),
            ["log" | "witness" | "group" | "quorum", ..] => Err(LineError::WrongFieldCount),
            [keyword, ..] => Err(LineError::UnknownKeyword {
                keyword: (*keyword).to_owned(),
            }),
        }
    }

    fn log(&mut self, key: &str, url: &[&str]) -> Result<(), LineError> {
        let url = optional_url(url)?;
        let key = Ed25519Verifier::parse(key).map_err(LineError::InvalidKey)?;
        if self
            .logs
            .iter()
            .any(|log| log.key.public_key() == key.public_key())
        {
            return Err(LineError::DuplicateKey);
        }
        if self.logs.len() == POLICY_LOGS_MAX {
            return Err(LineError::TooMany {
                max: POLICY_LOGS_MAX,
            });
        }
        self.logs.push(PolicyLog { key, url });
        Ok(())
    }

    fn witness(&mut self, name: &str, key: &str, url: &[&str]) -> Result<(), LineError> {
        let url = optional_url(url)?;
        self.check_new_name(name)?;
        let key = CosignatureVerifier::parse(key).map_err(LineError::InvalidKey)?;
        if self
            .witnesses
            .iter()
            .any(|w| w.key.public_key() == key.public_key())
        {
            return Err(LineError::DuplicateKey);
        }
        if self.witnesses.len() == POLICY_WITNESSES_MAX {
            return Err(LineError::TooMany {
                max: POLICY_WITNESSES_MAX,
            });
        }
        self.witnesses.push(PolicyWitness {
            name: name.to_owned(),
            key,
            url,
        });
        Ok(())
    }

    fn group(&mut self, name: &str, threshold: &str, members: &[&str]) -> Result<(), LineError> {
        if members.is_empty() {
            return Err(LineError::WrongFieldCount);
        }
        self.check_new_name(name)?;
        if self.groups.len() == POLICY_GROUPS_MAX {
            return Err(LineError::TooMany {
                max: POLICY_GROUPS_MAX,
            });
        }
        let threshold = match threshold {
            "all" => members.len(),
            "any" => 1,
            k => parse_decimal(k)
                .and_then(|k| usize::try_from(k).ok())
                .filter(|k| (1..=members.len()).contains(k))
                .ok_or(LineError::InvalidThreshold)?,
        };
        let mut resolved = Vec::with_capacity(members.len());
        for &member in members {
            if member == "none" {
                return Err(LineError::ReservedName);
            }
            let found = self.resolve(member)?;
            if self.members.iter().any(|listed| listed == member) {
                return Err(LineError::MemberListedTwice {
                    name: member.to_owned(),
                });
            }
            self.members.push(member.to_owned());
            resolved.push(found);
        }
        self.groups.push(PolicyGroup {
            name: name.to_owned(),
            threshold,
            members: resolved,
        });
        Ok(())
    }

    fn quorum(&mut self, name: &str) -> Result<(), LineError> {
        if self.quorum.is_some() {
            return Err(LineError::SecondQuorum);
        }
        let quorum = match name {
            "none" => Quorum::None,
            name => Quorum::Member(self.resolve(name)?),
        };
        self.quorum = Some(quorum);
        Ok(())
    }

    fn check_new_name(&self, name: &str) -> Result<(), LineError> {
        if name == "none" {
            return Err(LineError::ReservedName);
        }
        if self.resolve(name).is_ok() {
            return Err(LineError::DuplicateName {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    fn resolve(&self, name: &str) -> Result<Member, LineError> {
        if let Some(position) = self.witnesses.iter().position(|w| w.name == name) {
            return Ok(Member::Witness(position));
        }
        if let Some(position) = self.groups.iter().position(|g| g.name == name) {
            return Ok(Member::Group(position));
        }
        Err(LineError::UndefinedName {
            name: name.to_owned(),
        })
    }
}

fn optional_url(fields: &[&str]) -> Result<Option<String>, LineError> {
    match fields {
        [] => Ok(None),
        [url] => Ok(Some((*url).to_owned())),
        _ => Err(LineError::WrongFieldCount),
    }
}
