//! Cost of the privacy primitives: commitments, range proofs (single and aggregated over 8 and
//! 64 sessions), total proofs, ownership proofs and evidence sealing, next to the bare
//! Bulletproofs prove and verify calls measured in the same run.
//!
//! Run with `cargo bench -p kvitto-privacy`. Figures are per call on this machine.

// A bench that cannot build its input has nothing to measure.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use curve25519_dalek::scalar::Scalar;
use kvitto_privacy::{
    prove_ownership, prove_range, prove_ranges, prove_total, verify_ownership, verify_range,
    verify_ranges, verify_total_proof, AmountCommitment, AmountOpening, DriverSecret, PersonKey,
    SessionContext,
};
use merlin::Transcript;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn ctx(session: u32) -> SessionContext {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&session.to_be_bytes());
    SessionContext::new("kvitto/kvitto-devnet/se-kvt", [7; 16], id).unwrap()
}

fn sessions(count: u32, rng: &mut StdRng) -> (Vec<SessionContext>, Vec<AmountOpening>) {
    let contexts: Vec<_> = (0..count).map(ctx).collect();
    let openings = contexts
        .iter()
        .map(|c| AmountOpening::new(2_599, c, rng))
        .collect();
    (contexts, openings)
}

fn commitments(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let mut group = c.benchmark_group("commit");
    let session = ctx(1);
    group.bench_function("amount opening + commitment", |b| {
        b.iter(|| AmountOpening::new(black_box(2_599), &session, &mut rng).commit())
    });
    let driver = DriverSecret::generate(&mut rng).public();
    let person = PersonKey::generate(&mut rng);
    group.bench_function("identity commitment", |b| {
        b.iter(|| person.identity_commitment(black_box(&driver), &session))
    });
    group.finish();
}

fn range_proofs(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let mut group = c.benchmark_group("range proof");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));

    let session = ctx(1);
    let opening = AmountOpening::new(2_599, &session, &mut rng);
    group.bench_function("prove 1", |b| {
        b.iter(|| prove_range(&session, black_box(&opening), &mut rng).unwrap())
    });
    let (commitment, proof) = prove_range(&session, &opening, &mut rng).unwrap();
    group.bench_function("verify 1", |b| {
        b.iter(|| verify_range(&session, black_box(&commitment), &proof, &mut rng).unwrap())
    });

    for count in [8u32, 64] {
        let (contexts, openings) = sessions(count, &mut rng);
        group.throughput(Throughput::Elements(u64::from(count)));
        group.bench_function(format!("prove {count} aggregated"), |b| {
            b.iter(|| prove_ranges(&contexts, black_box(&openings), &mut rng).unwrap())
        });
        let (commitments, proof) = prove_ranges(&contexts, &openings, &mut rng).unwrap();
        group.bench_function(format!("verify {count} aggregated"), |b| {
            b.iter(|| verify_ranges(&contexts, black_box(&commitments), &proof, &mut rng).unwrap())
        });
    }
    group.finish();
}

/// The library's own calls with its default generators and a bare transcript: the floor under
/// `prove 1` / `verify 1` above.
fn bare_bulletproofs(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(3);
    let mut group = c.benchmark_group("bare bulletproofs");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let pc_gens = PedersenGens::default();
    let bp_gens = BulletproofGens::new(64, 1);
    let blinding = Scalar::random(&mut rng);
    group.bench_function("prove 1", |b| {
        b.iter(|| {
            let mut t = Transcript::new(b"bench");
            RangeProof::prove_single_with_rng(
                &bp_gens,
                &pc_gens,
                &mut t,
                black_box(2_599),
                &blinding,
                64,
                &mut rng,
            )
            .unwrap()
        })
    });
    let mut t = Transcript::new(b"bench");
    let (proof, v) = RangeProof::prove_single_with_rng(
        &bp_gens, &pc_gens, &mut t, 2_599, &blinding, 64, &mut rng,
    )
    .unwrap();
    group.bench_function("verify 1", |b| {
        b.iter(|| {
            let mut t = Transcript::new(b"bench");
            proof
                .verify_single_with_rng(&bp_gens, &pc_gens, &mut t, black_box(&v), 64, &mut rng)
                .unwrap()
        })
    });
    group.finish();
}

fn totals_and_ownership(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(4);
    let mut group = c.benchmark_group("proofs");
    let (_, openings) = sessions(1_000, &mut rng);
    let commitments: Vec<AmountCommitment> = openings.iter().map(AmountOpening::commit).collect();
    group.bench_function("total proof prove 1000", |b| {
        b.iter(|| prove_total(b"bench", black_box(&commitments), &openings, &mut rng).unwrap())
    });
    let (total, proof) = prove_total(b"bench", &commitments, &openings, &mut rng).unwrap();
    group.bench_function("total proof verify 1000", |b| {
        b.iter(|| verify_total_proof(b"bench", black_box(&commitments), total, &proof).unwrap())
    });

    let session = ctx(1);
    let secret = DriverSecret::generate(&mut rng);
    let person = PersonKey::generate(&mut rng);
    let opening = person.identity_opening(&session);
    let tag = person.identity_commitment(&secret.public(), &session);
    group.bench_function("ownership prove", |b| {
        b.iter(|| prove_ownership(&session, &tag, &secret, &opening, b"nonce", &mut rng).unwrap())
    });
    let proof = prove_ownership(&session, &tag, &secret, &opening, b"nonce", &mut rng).unwrap();
    group.bench_function("ownership verify", |b| {
        b.iter(|| verify_ownership(&session, black_box(&tag), b"nonce", &proof).unwrap())
    });
    group.finish();
}

fn evidence(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(5);
    let mut group = c.benchmark_group("evidence");
    let session = ctx(1);
    let key = PersonKey::generate(&mut rng).evidence_key(&session);
    // A long session: 4096 signed readings of 170 bytes, plus a CDR.
    let bundle = vec![0x5a; 4096 * 170 + 4096];
    group.throughput(Throughput::Bytes(bundle.len() as u64));
    group.bench_function("seal 684 KiB", |b| {
        b.iter(|| key.seal(&session, black_box(&bundle), &mut rng).unwrap())
    });
    let sealed = key.seal(&session, &bundle, &mut rng).unwrap();
    group.bench_function("open 684 KiB", |b| {
        b.iter_batched(
            || sealed.clone(),
            |s| key.open(&session, &s).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    commitments,
    range_proofs,
    bare_bulletproofs,
    totals_and_ownership,
    evidence
);
criterion_main!(benches);
