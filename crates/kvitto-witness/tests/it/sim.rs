//! The seeded simulation over many seeds. A failure prints its seed and the command that
//! replays it; `KVITTO_SIM_SEED=<n>` runs that one seed, `KVITTO_SIM_SEEDS=<n>` runs seeds
//! `0..n` instead of the default.

use std::time::Instant;

use kvitto_witness::sim::{self, Failure, Report, SEED_VARIABLE};

/// Seeds run by default: a few hundred, within the test time budget on two cores.
const SEEDS: u64 = 300;

/// Threads the seeds are spread over.
const THREADS: u64 = 2;

fn seeds() -> (Vec<u64>, bool) {
    if let Ok(seed) = std::env::var(SEED_VARIABLE) {
        return (vec![seed.trim().parse().unwrap()], false);
    }
    let count = std::env::var("KVITTO_SIM_SEEDS").map_or(SEEDS, |n| n.trim().parse().unwrap());
    ((0..count).collect(), true)
}

#[test]
fn invariants_hold_for_every_seed() {
    let (seeds, is_sweep) = seeds();
    let started = Instant::now();
    let results: Vec<Result<Report, Failure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let seeds: Vec<u64> = seeds
                    .iter()
                    .copied()
                    .filter(|s| s % THREADS == thread)
                    .collect();
                scope.spawn(move || seeds.into_iter().map(sim::run).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed();
    let (reports, failures): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let reports: Vec<Report> = reports.into_iter().map(Result::unwrap).collect();
    for failure in &failures {
        eprintln!("{}", failure.as_ref().unwrap_err());
    }
    let sum = |f: fn(&Report) -> u64| reports.iter().map(f).sum::<u64>();
    let forks = reports.iter().filter(|r| r.fork_reached_both).count();
    let settled_max = reports
        .iter()
        .map(|r| r.settled_after_steps)
        .max()
        .unwrap_or(0);
    eprintln!(
        "simulation: {} seeds in {:.1?}: {} failed; {} steps, {} messages ({} dropped, {} duplicated), \
         {} crashes, {} partitions, {} checkpoints, {} cosignatures; {} forks reached both halves, \
         {} flags, {} forgeries, {} refused; settled at most {} steps after healing",
        seeds.len(),
        elapsed,
        failures.len(),
        sum(|r| r.steps),
        sum(|r| r.messages_sent),
        sum(|r| r.messages_dropped),
        sum(|r| r.messages_duplicated),
        sum(|r| r.crashes),
        sum(|r| r.partitions),
        sum(|r| r.checkpoints_signed),
        sum(|r| r.cosignatures),
        forks,
        sum(|r| r.flags),
        sum(|r| r.forgeries),
        sum(|r| r.refused),
        settled_max,
    );
    if let [seed] = seeds.as_slice() {
        eprintln!("{:#?}\n{:#?}", sim::config(*seed), reports.first());
    }
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed",
        failures.len(),
        seeds.len()
    );
    if is_sweep && seeds.len() >= 100 {
        // The sweep must exercise what it claims to: faults and caught forks.
        assert!(sum(|r| r.crashes) > 0 && sum(|r| r.partitions) > 0);
        assert!(sum(|r| r.messages_dropped) > 0 && sum(|r| r.messages_duplicated) > 0);
        assert!(
            forks * 10 >= seeds.len(),
            "only {forks} forks reached both halves"
        );
    }
}

#[test]
fn a_seed_replays_exactly() {
    assert_eq!(sim::run(11), sim::run(11));
}
