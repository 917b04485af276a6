//! Makespan of a 200-step layered DAG whose steps sleep 1 ms (90 %) or 20 ms (10 %): the eager
//! schedule against level by level, and both against the critical-path lower bound.
//!
//! The bound is the longest path through the DAG, each step counted at its own duration in the
//! same run (from its record), so it is what a scheduler with no overhead at all would take; the
//! nominal bound (each step at its sleep) is printed beside it. Before criterion's own groups,
//! `report` runs both schedules in turn and prints their medians as ratios to the bound. See
//! `BENCHMARKS.md`.

mod dag;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use workflow::RunRecord;

/// The longest path through the DAG with each step taking `duration(i)`.
fn critical_path(duration: impl Fn(usize) -> Duration) -> Duration {
    let mut finish = vec![Duration::ZERO; dag::NEEDS.len()];
    for (i, needs) in dag::NEEDS.iter().enumerate() {
        let start = needs.iter().map(|&n| finish[n]).max().unwrap_or(Duration::ZERO);
        finish[i] = start + duration(i);
    }
    finish.into_iter().max().unwrap_or(Duration::ZERO)
}

/// The bound of a run: each step at the duration its record gives.
fn bound_of(record: &RunRecord) -> Duration {
    critical_path(|i| {
        let (level, j) = (i / 10, i % 10);
        record.step(&format!("s{level}_{j}")).and_then(|s| s.duration()).unwrap_or_default()
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(runtime: &tokio::runtime::Runtime) {
    let nominal = critical_path(|i| Duration::from_millis(dag::SLEEP_MS[i]));
    let (mut eager, mut levels, mut bounds) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        let started = Instant::now();
        let run = runtime.block_on(dag::eager(1).run(&())).expect("the eager run");
        eager.push(started.elapsed());
        bounds.push(bound_of(&run.record));
        let started = Instant::now();
        runtime.block_on(dag::by_levels(1).run(&())).expect("the level run");
        levels.push(started.elapsed());
    }
    let (eager, levels, bound) = (median(eager), median(levels), median(bounds));
    let ratio = |d: Duration| d.as_secs_f64() / bound.as_secs_f64();
    println!("makespan, medians of 15 runs each, alternating:");
    println!("  critical-path bound (recorded step durations): {bound:?} (nominal sleeps: {nominal:?})");
    println!("  eager:     {eager:?}  = {:.3} x bound", ratio(eager));
    println!("  by levels: {levels:?}  = {:.3} x bound", ratio(levels));
}

fn makespan(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    report(&runtime);
    let mut group = c.benchmark_group("makespan");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.bench_function("eager", |b| b.iter(|| runtime.block_on(dag::eager(1).run(&()))));
    group.bench_function("by_levels", |b| b.iter(|| runtime.block_on(dag::by_levels(1).run(&()))));
    group.finish();
}

criterion_group!(benches, makespan);
criterion_main!(benches);
