//! The offline verifier: one check per property, in a fixed order.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use kvitto_core::entry::{ChargerRegistration, Entry, SessionRecord, TariffPublication, TariffRef};
use kvitto_core::reading::{session_readings_digest, ReadingKind, SignedReading};
use kvitto_core::NetworkId;
use kvitto_ledger::pricing::price_readings;
use kvitto_privacy::{
    verify_session_ranges, AmountCommitment, AmountOpening, AmountRangeProof, DriverPublic,
    IdentityCommitment, IdentityOpening, SessionContext,
};
use kvitto_tariff::{Breakdown, RoundingRule};
use kvitto_tlog::merkle::{leaf_hash, verify_inclusion};
use kvitto_tlog::policy::Policy;
use kvitto_tlog::Hash;
use rand_core::{CryptoRng, RngCore};
use serde::Serialize;

use crate::format::{ProvenEntry, Receipt, FORMAT};

/// Whose policy the checkpoint is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Trust<'a> {
    /// A policy the verifier trusts (from its eMSP, its network's membership file).
    Policy(&'a Policy),
    /// The policy inside the receipt. This only shows the receipt is self-consistent.
    Embedded,
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Format,
    Checkpoint,
    SessionInclusion,
    ChargerInclusion,
    TariffInclusion,
    ReadingSignatures,
    ReadingsMatchRecord,
    ChargerValidAtTime,
    TariffInForce,
    Price,
    AmountOpenings,
    RangeProof,
    IdentityOpening,
    Summary,
    /// Only when the verifier asked for it: the holder of the driver secret answered the
    /// verifier's challenge for this session.
    Ownership,
}

impl CheckName {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Format => "format",
            CheckName::Checkpoint => "checkpoint",
            CheckName::SessionInclusion => "session_inclusion",
            CheckName::ChargerInclusion => "charger_inclusion",
            CheckName::TariffInclusion => "tariff_inclusion",
            CheckName::ReadingSignatures => "reading_signatures",
            CheckName::ReadingsMatchRecord => "readings_match_record",
            CheckName::ChargerValidAtTime => "charger_valid_at_time",
            CheckName::TariffInForce => "tariff_in_force",
            CheckName::Price => "price",
            CheckName::AmountOpenings => "amount_openings",
            CheckName::RangeProof => "range_proof",
            CheckName::IdentityOpening => "identity_opening",
            CheckName::Summary => "summary",
            CheckName::Ownership => "ownership",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// Not run because a check it depends on failed.
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: CheckName,
    pub outcome: Outcome,
    /// What was checked, or why it failed, in one sentence.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed. A skipped check is not a pass.
    pub fn all_passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.outcome == Outcome::Pass)
    }

    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.outcome == Outcome::Fail)
    }

    pub fn outcome(&self, name: CheckName) -> Option<Outcome> {
        self.checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.outcome)
    }
}

/// Everything the checks work on, decoded once.
struct Parsed {
    origin: String,
    network: NetworkId,
    session_index: u64,
    session_entry: Vec<u8>,
    session_proof: Vec<Hash>,
    record: SessionRecord,
    charger_index: u64,
    charger_entry: Vec<u8>,
    charger_proof: Vec<Hash>,
    registration: ChargerRegistration,
    tariff: Option<(u64, Vec<u8>, Vec<Hash>, TariffPublication)>,
    readings: Vec<SignedReading>,
    time_zone: Tz,
    excl: AmountOpening,
    incl: AmountOpening,
    identity: IdentityOpening,
    driver: DriverPublic,
}

/// Verifies a receipt file. Never panics on any input; every problem is a failed check.
pub fn verify<R: RngCore + CryptoRng>(json: &[u8], trust: Trust<'_>, rng: &mut R) -> Report {
    let mut v = Verifier { checks: Vec::new() };
    let receipt: Receipt = match serde_json::from_slice(json) {
        Ok(r) => r,
        Err(e) => {
            v.fail(CheckName::Format, format!("not a receipt file: {e}"));
            v.skip_rest();
            return v.report();
        }
    };
    let parsed = match parse(&receipt) {
        Ok(p) => p,
        Err(why) => {
            v.fail(CheckName::Format, why);
            v.skip_rest();
            return v.report();
        }
    };
    v.pass(
        CheckName::Format,
        format!(
            "{FORMAT}, session record at log index {}",
            parsed.session_index
        ),
    );
    let p = &parsed;

    // The checkpoint, and the three entries proven against it.
    let root = match check_checkpoint(&receipt, p, trust) {
        Ok((root, size, detail)) => {
            v.pass(CheckName::Checkpoint, detail);
            Some((root, size))
        }
        Err(why) => {
            v.fail(CheckName::Checkpoint, why);
            None
        }
    };
    let inclusion = |index: u64, entry: &[u8], proof: &[Hash], what: &str| {
        root.map(|(root, size)| {
            verify_inclusion(index, size, &leaf_hash(entry), proof, &root)
                .map(|()| {
                    format!("{what} at index {index} is in the checkpoint's tree of size {size}")
                })
                .map_err(|e| format!("{what} at index {index}: {e}"))
        })
    };
    v.record(
        CheckName::SessionInclusion,
        inclusion(
            p.session_index,
            &p.session_entry,
            &p.session_proof,
            "the session record",
        ),
    );
    let charger = inclusion(
        p.charger_index,
        &p.charger_entry,
        &p.charger_proof,
        "the charger registration",
    )
    .map(|r| {
        r.and_then(|ok| {
            if p.charger_index >= p.session_index {
                Err("the charger registration is not before the session record".to_owned())
            } else if p.registration.key_id() != p.record.key_id {
                Err(
                    "the registration is of another charger key than the session record's"
                        .to_owned(),
                )
            } else {
                Ok(ok)
            }
        })
    });
    v.record(CheckName::ChargerInclusion, charger);
    let tariff = match (&p.tariff, &p.record.tariff) {
        (None, None) => root
            .map(|_| Ok("the session record names no tariff, and the receipt has none".to_owned())),
        (None, Some(t)) => Some(Err(format!(
            "the session record names the tariff at index {} but the receipt has none",
            t.index
        ))),
        (Some((index, _, _, _)), None) => Some(Err(format!(
            "the receipt has a tariff (index {index}) but the session record names none"
        ))),
        (Some((index, entry, proof, _)), Some(named)) => {
            inclusion(*index, entry, proof, "the tariff").map(|r| {
                r.and_then(|ok| {
                    let expected = TariffRef {
                        index: *index,
                        leaf_hash: leaf_hash(entry).0,
                    };
                    if *named != expected {
                        Err(format!(
                        "the session record names the tariff at index {} with another leaf hash",
                        named.index
                    ))
                    } else if *index >= p.session_index {
                        Err("the tariff is not before the session record".to_owned())
                    } else {
                        Ok(ok)
                    }
                })
            })
        }
    };
    v.record(CheckName::TariffInclusion, tariff);

    // The readings: signed by the registered key, and exactly the ones the record binds.
    v.result(CheckName::ReadingSignatures, check_signatures(p));
    v.result(CheckName::ReadingsMatchRecord, check_readings(p));
    v.result(CheckName::ChargerValidAtTime, check_valid_at_time(p));
    v.result(CheckName::TariffInForce, check_tariff_in_force(p));

    // The price from the readings alone, against the receipt's breakdown and the commitments.
    let priced = price(p);
    match &priced {
        Ok(priced) => {
            let detail = match &priced.breakdown {
                None => "no tariff: the session is free (0)".to_owned(),
                Some(b) => format!(
                    "recomputed from the readings and the tariff: {} {} excl. VAT, {} incl. VAT",
                    b.totals.total_cost.excl_vat,
                    b.currency,
                    b.totals
                        .total_cost
                        .incl_vat
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "no VAT given,".into())
                ),
            };
            let served = receipt.breakdown.clone();
            let recomputed = priced
                .breakdown
                .as_ref()
                .and_then(|b| serde_json::to_value(b).ok());
            if served != recomputed {
                v.fail(
                    CheckName::Price,
                    format!(
                        "the receipt's price breakdown differs from the one recomputed ({detail})"
                    ),
                );
            } else {
                v.pass(CheckName::Price, detail);
            }
        }
        Err(why) => v.fail(CheckName::Price, why.clone()),
    }
    let privacy = p.record.privacy.as_ref();
    let ctx = SessionContext::new(&p.origin, p.record.key_id.0, p.record.session.0);
    let amounts = match (privacy, &ctx, &priced) {
        (None, _, _) => Some(Err("the session record has no commitments".to_owned())),
        (_, Err(e), _) => Some(Err(format!("session context: {e}"))),
        (_, _, Err(_)) => None,
        (Some(privacy), Ok(_), Ok(priced)) => Some(check_amounts(privacy, p, priced)),
    };
    v.record(CheckName::AmountOpenings, amounts);
    let range = match (privacy, &ctx) {
        (Some(privacy), Ok(ctx)) => Some(check_range(privacy, ctx, rng)),
        _ => None,
    };
    v.record(CheckName::RangeProof, range);
    let identity = privacy.map(|privacy| {
        let t = IdentityCommitment::from_bytes(&privacy.identity)
            .map_err(|e| format!("the identity commitment: {e}"))?;
        t.verify_opening(&p.driver, &p.identity)
            .map(|()| {
                "the identity commitment opens to your pseudonym with your opening".to_owned()
            })
            .map_err(|_| {
                "the identity commitment does not open to the receipt's pseudonym".to_owned()
            })
    });
    v.record(CheckName::IdentityOpening, identity);
    v.result(
        CheckName::Summary,
        check_summary(&receipt, p, priced.as_ref().ok()),
    );
    v.report()
}

struct Verifier {
    checks: Vec<Check>,
}

const ORDER: [CheckName; 14] = [
    CheckName::Format,
    CheckName::Checkpoint,
    CheckName::SessionInclusion,
    CheckName::ChargerInclusion,
    CheckName::TariffInclusion,
    CheckName::ReadingSignatures,
    CheckName::ReadingsMatchRecord,
    CheckName::ChargerValidAtTime,
    CheckName::TariffInForce,
    CheckName::Price,
    CheckName::AmountOpenings,
    CheckName::RangeProof,
    CheckName::IdentityOpening,
    CheckName::Summary,
];

impl Verifier {
    fn push(&mut self, name: CheckName, outcome: Outcome, detail: String) {
        self.checks.push(Check {
            name,
            outcome,
            detail,
        });
    }
    fn pass(&mut self, name: CheckName, detail: String) {
        self.push(name, Outcome::Pass, detail);
    }
    fn fail(&mut self, name: CheckName, detail: String) {
        self.push(name, Outcome::Fail, detail);
    }
    fn result(&mut self, name: CheckName, result: Result<String, String>) {
        match result {
            Ok(detail) => self.pass(name, detail),
            Err(detail) => self.fail(name, detail),
        }
    }
    /// `None`: skipped because a check it depends on failed.
    fn record(&mut self, name: CheckName, result: Option<Result<String, String>>) {
        match result {
            Some(result) => self.result(name, result),
            None => self.push(
                name,
                Outcome::Skip,
                "skipped: a check it depends on failed".into(),
            ),
        }
    }
    fn skip_rest(&mut self) {
        for name in ORDER {
            if !self.checks.iter().any(|c| c.name == name) {
                self.record(name, None);
            }
        }
    }
    fn report(self) -> Report {
        Report {
            checks: self.checks,
        }
    }
}

fn unhex(what: &str, text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("{what} is not hex: {e}"))
}

fn unhex_hashes(what: &str, proof: &[String]) -> Result<Vec<Hash>, String> {
    proof
        .iter()
        .map(|h| Hash::from_hex(h).map_err(|e| format!("{what} proof hash {h:?}: {e}")))
        .collect()
}

fn entry_of(what: &str, proven: &ProvenEntry) -> Result<(Vec<u8>, Vec<Hash>, Entry), String> {
    let bytes = unhex(what, &proven.entry)?;
    let entry = Entry::decode(&bytes).map_err(|e| format!("{what}: {e}"))?;
    Ok((bytes, unhex_hashes(what, &proven.proof)?, entry))
}

fn parse(receipt: &Receipt) -> Result<Parsed, String> {
    if receipt.format != FORMAT {
        return Err(format!("format {:?} is not {FORMAT:?}", receipt.format));
    }
    let origin = receipt.log.origin.clone();
    // `kvitto/<network>/<log id>` (specs/tlog.md).
    let network = match origin.split('/').collect::<Vec<_>>().as_slice() {
        ["kvitto", network, _] => NetworkId::of_name(network),
        _ => {
            return Err(format!(
                "origin {origin:?} is not kvitto/<network>/<log id>"
            ))
        }
    };
    let (session_entry, session_proof, entry) = entry_of("the session record", &receipt.session)?;
    let Entry::SessionClosed(record) = entry else {
        return Err(format!(
            "the session entry is a {}, not a session_closed record",
            entry.type_name()
        ));
    };
    let (charger_entry, charger_proof, entry) =
        entry_of("the charger registration", &receipt.charger)?;
    let Entry::ChargerRegistered(registration) = entry else {
        return Err(format!(
            "the charger entry is a {}, not a charger_registered entry",
            entry.type_name()
        ));
    };
    let tariff = match &receipt.tariff {
        None => None,
        Some(proven) => {
            let (bytes, proof, entry) = entry_of("the tariff", proven)?;
            let Entry::TariffPublished(publication) = entry else {
                return Err(format!(
                    "the tariff entry is a {}, not a tariff_published entry",
                    entry.type_name()
                ));
            };
            Some((proven.index, bytes, proof, publication))
        }
    };
    let readings = receipt
        .readings
        .iter()
        .enumerate()
        .map(|(i, text)| {
            SignedReading::decode(&unhex("a reading", text)?)
                .map_err(|e| format!("reading {}: {e}", i + 1))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let time_zone: Tz = receipt
        .time_zone
        .parse()
        .map_err(|_| format!("time zone {:?} is not an IANA zone", receipt.time_zone))?;
    let opening = |what: &str, text: &str| {
        AmountOpening::from_bytes(&unhex(what, text)?).map_err(|e| format!("{what}: {e}"))
    };
    let excl = opening(
        "the excl. VAT amount opening",
        &receipt.openings.amount_excl_vat,
    )?;
    let incl = opening(
        "the incl. VAT amount opening",
        &receipt.openings.amount_incl_vat,
    )?;
    let identity =
        IdentityOpening::from_bytes(&unhex("the identity opening", &receipt.openings.identity)?)
            .map_err(|e| format!("the identity opening: {e}"))?;
    let driver = DriverPublic::from_bytes(&unhex("the driver pseudonym", &receipt.driver)?)
        .map_err(|e| format!("the driver pseudonym: {e}"))?;
    Ok(Parsed {
        origin,
        network,
        session_index: receipt.session.index,
        session_entry,
        session_proof,
        record,
        charger_index: receipt.charger.index,
        charger_entry,
        charger_proof,
        registration,
        tariff,
        readings,
        time_zone,
        excl,
        incl,
        identity,
        driver,
    })
}

fn check_checkpoint(
    receipt: &Receipt,
    p: &Parsed,
    trust: Trust<'_>,
) -> Result<(Hash, u64, String), String> {
    let embedded;
    let (policy, whose) = match trust {
        Trust::Policy(policy) => (policy, "your trust policy"),
        Trust::Embedded => {
            embedded =
                Policy::parse(&receipt.policy).map_err(|e| format!("the receipt's policy: {e}"))?;
            (
                &embedded,
                "the policy INSIDE the receipt (only self-consistency; pass a policy you trust)",
            )
        }
    };
    let witnessed = policy
        .verify(receipt.checkpoint.as_bytes())
        .map_err(|e| format!("under {whose}: {e}"))?;
    let checkpoint = &witnessed.checkpoint;
    let signed_by = policy.logs()[witnessed.log].key.to_string();
    if signed_by != receipt.log.key {
        return Err(format!(
            "the receipt names the log key {:?} but the checkpoint is signed by {signed_by:?}",
            receipt.log.key
        ));
    }
    if checkpoint.origin() != p.origin {
        return Err(format!(
            "the checkpoint is of log {:?}, the receipt names {:?}",
            checkpoint.origin(),
            p.origin
        ));
    }
    Ok((
        *checkpoint.root(),
        checkpoint.size(),
        format!(
            "signed by the log {} at size {} and cosigned by {} witness(es), a quorum under {whose}",
            checkpoint.origin(),
            checkpoint.size(),
            witnessed.cosignatures.len()
        ),
    ))
}

fn check_signatures(p: &Parsed) -> Result<String, String> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(&p.registration.public_key)
        .map_err(|_| "the registered charger key is not a valid Ed25519 key".to_owned())?;
    for (i, signed) in p.readings.iter().enumerate() {
        let r = &signed.reading;
        if r.key_id != p.registration.key_id() {
            return Err(format!("reading {} names another charger key", i + 1));
        }
        if r.network != p.network {
            return Err(format!("reading {} is for another network", i + 1));
        }
        signed
            .verify(&key)
            .map_err(|e| format!("reading {}: {e}", i + 1))?;
    }
    Ok(format!(
        "{} readings signed by the charger key {} registered for {}",
        p.readings.len(),
        p.registration.key_id().to_hex(),
        p.registration.evse_id
    ))
}

fn check_readings(p: &Parsed) -> Result<String, String> {
    let rec = &p.record;
    let (Some(first), Some(last)) = (p.readings.first(), p.readings.last()) else {
        return Err("the receipt has no readings".into());
    };
    if p.readings.len() != rec.reading_count as usize {
        return Err(format!(
            "{} readings, the record counts {}",
            p.readings.len(),
            rec.reading_count
        ));
    }
    if first.reading.kind != ReadingKind::Start || last.reading.kind != ReadingKind::Stop {
        return Err("the readings do not run from a start to a stop reading".into());
    }
    for (i, pair) in p.readings.windows(2).enumerate() {
        let (a, b) = (&pair[0].reading, &pair[1].reading);
        let n = i + 2;
        if b.session != a.session {
            return Err(format!("reading {n} is of another session"));
        }
        if a.counter.checked_add(1) != Some(b.counter) {
            return Err(format!(
                "reading {n} does not follow reading {} by counter",
                n - 1
            ));
        }
        if b.prev_hash != pair[0].hash() {
            return Err(format!("reading {n} does not chain to reading {}", n - 1));
        }
        if b.timestamp_ms < a.timestamp_ms || b.register_wh < a.register_wh {
            return Err(format!("reading {n} goes back in time or energy"));
        }
        if i + 2 < p.readings.len() && b.kind != ReadingKind::Intermediate {
            return Err(format!(
                "reading {n} is a {:?} reading inside the session",
                b.kind
            ));
        }
    }
    let f = &first.reading;
    let l = &last.reading;
    let mismatch = [
        ("session id", f.session != rec.session),
        ("charger key", f.key_id != rec.key_id),
        ("first counter", f.counter != rec.first_counter),
        ("last counter", l.counter != rec.last_counter),
        (
            "start hour",
            SessionRecord::coarse_start(f.timestamp_ms) != rec.start_ms,
        ),
        (
            "stop hour",
            SessionRecord::coarse_stop(l.timestamp_ms) != rec.stop_ms,
        ),
        (
            "energy (kWh)",
            SessionRecord::coarse_energy(l.register_wh - f.register_wh) != rec.energy_wh,
        ),
        (
            "readings digest",
            session_readings_digest(&p.readings) != rec.readings_digest,
        ),
    ];
    if let Some((field, _)) = mismatch.iter().find(|(_, differs)| *differs) {
        return Err(format!(
            "the readings' {field} differs from the session record's"
        ));
    }
    Ok(format!(
        "{} readings, counters {}..={}, chained, and their digest is the one the record binds",
        p.readings.len(),
        rec.first_counter,
        rec.last_counter
    ))
}

/// The session's exact start and stop (signed by the charger) and energy, from its readings.
fn exact(p: &Parsed) -> Option<(u64, u64, u64)> {
    let (first, last) = (&p.readings.first()?.reading, &p.readings.last()?.reading);
    Some((
        first.timestamp_ms,
        last.timestamp_ms,
        last.register_wh.saturating_sub(first.register_wh),
    ))
}

fn check_valid_at_time(p: &Parsed) -> Result<String, String> {
    let (start, _, _) = exact(p).ok_or("the receipt has no readings")?;
    if start < p.registration.valid_from_ms {
        return Err(format!(
            "the session starts at {} but the charger key is valid only from {}",
            time_text(start),
            time_text(p.registration.valid_from_ms)
        ));
    }
    Ok(format!(
        "the key is valid from {}, before the session's start; a revocation would have stopped the log from accepting its readings",
        time_text(p.registration.valid_from_ms)
    ))
}

fn check_tariff_in_force(p: &Parsed) -> Result<String, String> {
    let Some((index, _, _, tariff)) = &p.tariff else {
        return Ok("no tariff is named".into());
    };
    if tariff.counterparty.is_some() {
        return Err(
            "the tariff is a counterparty variant; session records name the default tariff".into(),
        );
    }
    if p.registration.tariff_id.as_deref() != Some(tariff.tariff_id.as_str()) {
        return Err(format!(
            "the tariff {} is not the one the charger is registered with",
            tariff.tariff_id
        ));
    }
    let (start, _, _) = exact(p).ok_or("the receipt has no readings")?;
    if tariff.valid_from_ms > start {
        return Err(format!(
            "the tariff is valid from {}, after the session started at {}",
            time_text(tariff.valid_from_ms),
            time_text(start)
        ));
    }
    Ok(format!(
        "tariff {} (log index {index}) in force from {}, published on the log before the session record",
        tariff.tariff_id,
        time_text(tariff.valid_from_ms)
    ))
}

struct Priced {
    breakdown: Option<Breakdown>,
    excl_minor: u64,
    incl_minor: u64,
}

fn price(p: &Parsed) -> Result<Priced, String> {
    let Some((_, _, _, tariff)) = &p.tariff else {
        return Ok(Priced {
            breakdown: None,
            excl_minor: 0,
            incl_minor: 0,
        });
    };
    let breakdown = price_readings(&p.readings, &tariff.tariff_json, p.time_zone)
        .map_err(|e| format!("cannot price the readings: {e}"))?;
    let (excl_minor, incl_minor) = minor_totals(&breakdown)?;
    Ok(Priced {
        breakdown: Some(breakdown),
        excl_minor,
        incl_minor,
    })
}

/// The committed amounts: total cost excluding and including VAT in minor units. Without VAT
/// information the incl. amount is the excl. amount (`specs/receipts.md`).
pub fn minor_totals(breakdown: &Breakdown) -> Result<(u64, u64), String> {
    let rule = RoundingRule::for_currency(&breakdown.currency).map_err(|e| e.to_string())?;
    let total = &breakdown.totals.total_cost;
    let minor = |d| {
        rule.to_minor_units(d)
            .and_then(|m| u64::try_from(m).ok())
            .ok_or_else(|| format!("total {d} is not a non-negative amount in minor units"))
    };
    let excl = minor(total.excl_vat)?;
    let incl = minor(total.incl_vat.unwrap_or(total.excl_vat))?;
    Ok((excl, incl))
}

fn check_amounts(
    privacy: &kvitto_core::entry::SessionPrivacy,
    p: &Parsed,
    priced: &Priced,
) -> Result<String, String> {
    for (what, bytes, opening, expected) in [
        (
            "excl. VAT",
            &privacy.amount_excl_vat,
            &p.excl,
            priced.excl_minor,
        ),
        (
            "incl. VAT",
            &privacy.amount_incl_vat,
            &p.incl,
            priced.incl_minor,
        ),
    ] {
        let c = AmountCommitment::from_bytes(bytes)
            .map_err(|e| format!("the {what} commitment: {e}"))?;
        c.verify_opening(opening)
            .map_err(|_| format!("the {what} opening does not open the record's commitment"))?;
        if opening.value_minor() != expected {
            return Err(format!(
                "the {what} commitment holds {} minor units, the recomputed price is {expected}",
                opening.value_minor()
            ));
        }
    }
    Ok(format!(
        "both commitments open to the recomputed price ({} and {} minor units)",
        priced.excl_minor, priced.incl_minor
    ))
}

fn check_range<R: RngCore + CryptoRng>(
    privacy: &kvitto_core::entry::SessionPrivacy,
    ctx: &SessionContext,
    rng: &mut R,
) -> Result<String, String> {
    let excl = AmountCommitment::from_bytes(&privacy.amount_excl_vat)
        .map_err(|e| format!("the excl. VAT commitment: {e}"))?;
    let incl = AmountCommitment::from_bytes(&privacy.amount_incl_vat)
        .map_err(|e| format!("the incl. VAT commitment: {e}"))?;
    let proof = AmountRangeProof::from_bytes(&privacy.range_proof)
        .map_err(|e| format!("the range proof: {e}"))?;
    verify_session_ranges(ctx, &excl, &incl, &proof, rng)
        .map(|()| {
            "both committed amounts are proven to lie in [0, 2^64) for this session".to_owned()
        })
        .map_err(|_| "the range proof does not verify for this session's commitments".to_owned())
}

fn check_summary(receipt: &Receipt, p: &Parsed, priced: Option<&Priced>) -> Result<String, String> {
    let s = &receipt.summary;
    let expected_operator = p.origin.rsplit('/').next().unwrap_or_default();
    let Some((start, stop, wh)) = exact(p) else {
        return Err("the receipt has no readings".into());
    };
    let energy = format!("{}.{:03}", wh / 1000, wh % 1000);
    let mut differs = Vec::new();
    if s.evse_id != p.registration.evse_id {
        differs.push("EVSE");
    }
    if normalise_operator(&s.operator) != expected_operator {
        differs.push("operator");
    }
    if s.start != time_text(start) {
        differs.push("start");
    }
    if s.stop != time_text(stop) {
        differs.push("stop");
    }
    if s.energy_kwh != energy {
        differs.push("energy");
    }
    if let Some(priced) = priced {
        let (currency, excl, incl) = match &priced.breakdown {
            None => (None, None, None),
            Some(b) => (
                Some(b.currency.clone()),
                Some(b.totals.total_cost.excl_vat.to_string()),
                b.totals.total_cost.incl_vat.map(|d| d.to_string()),
            ),
        };
        if s.currency != currency {
            differs.push("currency");
        }
        if s.total_excl_vat != excl {
            differs.push("total excl. VAT");
        }
        if s.total_incl_vat != incl {
            differs.push("total incl. VAT");
        }
    }
    if differs.is_empty() {
        Ok("what the receipt says in words matches the proven data".into())
    } else {
        Err(format!(
            "the summary's {} differ(s) from the proven data",
            differs.join(", ")
        ))
    }
}

/// `SE*KVT` and `SE-KVT` name the same log id `se-kvt` (specs/tlog.md).
fn normalise_operator(operator: &str) -> String {
    operator.replace('*', "-").to_ascii_lowercase()
}

pub fn time_text(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| format!("{ms} ms"))
}
