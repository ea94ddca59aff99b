//! Settlement benchmarks.
//!
//! (a) Checking one settlement statement that covers 1,000,000 sessions: `verify_total_proof`
//! over 1,000,000 amount commitments, next to the raw costs it is made of, measured in the same
//! run: decompressing the 1,000,000 commitments from their 32-byte ledger encoding, summing the
//! decompressed points, and the merlin transcript that absorbs every commitment. Next to them,
//! the check a node makes with running sums (`verify_total_proof_summed`: the sum was kept as the
//! log grew, so only the transcript is left) and what keeping the sum costs per session as it
//! arrives. A summary with the ratios is printed before criterion's own figures.
//!
//! (b) Netting 100 operators, each owing each other one statement (9,900 obligations): `net`
//! and `Netting::check`.
//!
//! Run with `cargo bench -p kvitto-settle`. `KVITTO_BENCH_SESSIONS` sets the statement size
//! (default 1,000,000) for a quicker run.

// A bench that cannot build its input has nothing to measure.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use kvitto_privacy::{
    prove_total, verify_total_proof, verify_total_proof_summed, AmountCommitment, AmountOpening,
    CommitmentSum, SessionContext, TotalProof,
};
use kvitto_settle::{net, Obligation, StatementRef};
use merlin::Transcript;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const STATEMENT: &[u8] = b"kvitto settlement 2026-11 SE*N01 -> SE*EMP kvitto/bench/se-n01";

fn session_count() -> usize {
    std::env::var("KVITTO_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// One statement's worth of sessions: openings and commitments, made on every core.
fn sessions(count: usize) -> (Vec<AmountOpening>, Vec<AmountCommitment>) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = count.div_ceil(threads);
    let chunks: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(1000 + t as u64);
                    let start = t * per_thread;
                    let end = count.min(start + per_thread);
                    let mut openings = Vec::with_capacity(end.saturating_sub(start));
                    let mut commitments = Vec::with_capacity(end.saturating_sub(start));
                    for i in start..end {
                        let mut session = [0u8; 16];
                        session[..8].copy_from_slice(&(i as u64).to_be_bytes());
                        let ctx =
                            SessionContext::new("kvitto/bench/se-n01", [7; 16], session).unwrap();
                        let opening =
                            AmountOpening::new(rng.gen_range(100..20_000), &ctx, &mut rng);
                        commitments.push(opening.commit());
                        openings.push(opening);
                    }
                    (openings, commitments)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut openings = Vec::with_capacity(count);
    let mut commitments = Vec::with_capacity(count);
    for (o, c) in chunks {
        openings.extend(o);
        commitments.extend(c);
    }
    (openings, commitments)
}

/// The statement checker's input, built once.
struct Statement {
    encoded: Vec<[u8; 32]>,
    commitments: Vec<AmountCommitment>,
    points: Vec<RistrettoPoint>,
    total_minor: u64,
    proof: TotalProof,
    /// The running sum a node keeps as the sessions arrive.
    running: CommitmentSum,
}

fn statement(count: usize) -> Statement {
    let started = Instant::now();
    let (openings, commitments) = sessions(count);
    let made = started.elapsed();
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(7);
    let (total_minor, proof) = prove_total(STATEMENT, &commitments, &openings, &mut rng).unwrap();
    let proved = started.elapsed();
    drop(openings);
    let encoded: Vec<[u8; 32]> = commitments.iter().map(|c| c.to_bytes()).collect();
    let points = decompress(&encoded);
    let running = running_sum(&encoded);
    eprintln!(
        "setup: {count} openings and commitments in {:.1} s, prove_total in {:.2} s",
        made.as_secs_f64(),
        proved.as_secs_f64()
    );
    Statement {
        encoded,
        commitments,
        points,
        total_minor,
        proof,
        running,
    }
}

/// What a node does as each session arrives, for all of them: decode the commitment (the
/// decompression) and add it to the running sum of its counterparty and period.
fn running_sum(encoded: &[[u8; 32]]) -> CommitmentSum {
    let mut sum = CommitmentSum::default();
    for bytes in encoded {
        sum.add(&AmountCommitment::from_bytes(bytes).unwrap());
    }
    sum
}

fn verify_summed(s: &Statement) {
    verify_total_proof_summed(STATEMENT, &s.encoded, &s.running, s.total_minor, &s.proof).unwrap();
}

fn decompress(encoded: &[[u8; 32]]) -> Vec<RistrettoPoint> {
    encoded
        .iter()
        .map(|bytes| CompressedRistretto(*bytes).decompress().unwrap())
        .collect()
}

/// [`decompress`] split across every core.
fn decompress_parallel(encoded: &[[u8; 32]]) -> Vec<RistrettoPoint> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = encoded.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = encoded
            .chunks(chunk)
            .map(|part| scope.spawn(move || decompress(part)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// A proposed replacement for absorbing every commitment: one blake3 digest of them all.
fn digest_only(encoded: &[[u8; 32]]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    for bytes in encoded {
        hasher.update(bytes);
    }
    hasher.finalize()
}

fn decode(encoded: &[[u8; 32]]) -> Vec<AmountCommitment> {
    encoded
        .iter()
        .map(|bytes| AmountCommitment::from_bytes(bytes).unwrap())
        .collect()
}

fn sum(points: &[RistrettoPoint]) -> RistrettoPoint {
    points.iter().sum()
}

/// What `verify_total_proof` absorbs per commitment, without the group arithmetic.
fn transcript_only(encoded: &[[u8; 32]]) -> [u8; 64] {
    let mut transcript = Transcript::new(b"kvitto 2026-11 v1 amount total proof");
    transcript.append_message(b"statement", STATEMENT);
    transcript.append_u64(b"count", encoded.len() as u64);
    for bytes in encoded {
        transcript.append_message(b"C", bytes);
    }
    let mut challenge = [0u8; 64];
    transcript.challenge_bytes(b"c", &mut challenge);
    challenge
}

fn verify(s: &Statement) {
    verify_total_proof(STATEMENT, &s.commitments, s.total_minor, &s.proof).unwrap();
}

fn decode_and_verify(s: &Statement) {
    let commitments = decode(&s.encoded);
    verify_total_proof(STATEMENT, &commitments, s.total_minor, &s.proof).unwrap();
}

/// The median of `runs` timed runs of `f`, in seconds.
fn median_s(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn statement_check(c: &mut Criterion) {
    let count = session_count();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!("{threads} cores");
    let s = statement(count);

    // The summary: every figure in this process, back to back, median of three.
    let decompress_s = median_s(3, || {
        black_box(decompress(&s.encoded));
    });
    let sum_s = median_s(3, || {
        black_box(sum(&s.points));
    });
    let transcript_s = median_s(3, || {
        black_box(transcript_only(&s.encoded));
    });
    let parallel_s = median_s(3, || {
        black_box(decompress_parallel(&s.encoded));
    });
    let digest_s = median_s(3, || {
        black_box(digest_only(&s.encoded));
    });
    let verify_s = median_s(3, || verify(&s));
    let decode_verify_s = median_s(3, || decode_and_verify(&s));
    let summed_s = median_s(3, || verify_summed(&s));
    let keep_sum_s = median_s(3, || {
        black_box(running_sum(&s.encoded));
    });
    let per = |secs: f64| secs * 1e9 / count as f64;
    eprintln!("statement over {count} sessions (median of 3 runs):");
    for (what, secs) in [
        ("decompress every commitment (raw)", decompress_s),
        ("sum the decompressed points (raw)", sum_s),
        ("transcript: absorb every commitment", transcript_s),
        ("verify_total_proof (decoded commitments)", verify_s),
        ("decode from bytes + verify_total_proof", decode_verify_s),
        ("verify_total_proof_summed (running sum)", summed_s),
        ("keep the running sum as sessions arrive", keep_sum_s),
        ("decompress on every core (proposal)", parallel_s),
        ("blake3 of every commitment (proposal)", digest_s),
    ] {
        eprintln!("  {what:<42} {secs:>8.3} s  {:>7.1} ns/session", per(secs));
    }
    eprintln!(
        "  verify / sum = {:.2}, verify / decompress = {:.2}, (decode + verify) / decompress = {:.2}, \
         (sum + transcript) / verify = {:.2}",
        verify_s / sum_s,
        verify_s / decompress_s,
        decode_verify_s / decompress_s,
        (sum_s + transcript_s) / verify_s,
    );
    eprintln!(
        "  with running sums: summed / transcript = {:.2}, (decode + verify) / summed = {:.1}",
        summed_s / transcript_s,
        decode_verify_s / summed_s,
    );

    let mut group = c.benchmark_group(format!("statement of {count} sessions"));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(count as u64));
    group.bench_function("verify_total_proof", |b| b.iter(|| verify(&s)));
    group.bench_function("verify_total_proof_summed", |b| {
        b.iter(|| verify_summed(&s))
    });
    group.bench_function("sum points (raw)", |b| b.iter(|| sum(black_box(&s.points))));
    group.bench_function("transcript (raw)", |b| {
        b.iter(|| transcript_only(black_box(&s.encoded)))
    });
    group.finish();

    // Decompressing all of them takes seconds per iteration; criterion times a tenth.
    let tenth = &s.encoded[..count / 10];
    let mut group = c.benchmark_group(format!("statement of {count} sessions, a tenth"));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(tenth.len() as u64));
    group.bench_function("decompress (raw)", |b| {
        b.iter(|| decompress(black_box(tenth)))
    });
    group.finish();
}

/// `operators` operators, each owing each other operator one statement in SEK.
fn obligations(operators: usize) -> Vec<Obligation> {
    let mut rng = StdRng::seed_from_u64(3);
    let party = |i: usize| format!("SE*{i:03}");
    let mut out = Vec::with_capacity(operators * (operators - 1));
    for cpo in 0..operators {
        for (index, emsp) in (0..operators).filter(|&e| e != cpo).enumerate() {
            out.push(Obligation {
                statement: StatementRef {
                    origin: format!("kvitto/bench/{cpo:03}"),
                    index: index as u64,
                },
                cpo: party(cpo),
                emsp: party(emsp),
                currency: "SEK".into(),
                amount_minor: rng.gen_range(-50_000..5_000_000),
            });
        }
    }
    out
}

fn netting(c: &mut Criterion) {
    let obligations = obligations(100);
    let netting = net("2026-11", &obligations).unwrap();
    eprintln!(
        "netting: {} obligations between 100 operators settle in {} transfers",
        obligations.len(),
        netting.transfer_count()
    );
    let mut group = c.benchmark_group("netting 100 operators");
    group.throughput(Throughput::Elements(obligations.len() as u64));
    group.bench_function("net", |b| {
        b.iter(|| net("2026-11", black_box(&obligations)).unwrap())
    });
    group.bench_function("check", |b| {
        b.iter(|| netting.check(black_box(&obligations)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, netting, statement_check);
criterion_main!(benches);
