//! Per-step overhead of a generated workflow against hand-written `join!`s of the same DAG.
//!
//! Every variant runs the 100-step layered DAG of `layered.rs` (10 levels of 10 no-op steps) to
//! completion; divide a time by 100 for the cost per step. See `BENCHMARKS.md`.
//!
//! The futures are driven by `futures::executor::block_on`: no step sleeps, times out or retries,
//! so nothing needs tokio's timer, and the executor's fixed cost per run stays small next to
//! the steps. The `tokio_current_thread` group checks that the comparison holds on the runtime
//! users run workflows on. No `tracing` subscriber is installed, so spans are created disabled,
//! except in the `with_subscriber` group, which installs the cheapest real one (a bare
//! `tracing_subscriber::registry()`) to show what enabled spans add.

mod layered;

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use futures::executor::block_on;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Runs the workflow until the step driver's clock reads the processor's counter (calibrated
/// on a thread of its own after the first run, in at most 200 ms): what every later run does.
fn calibrated() {
    for _ in 0..1000 {
        if workflow::__private::exec::counter_ready() {
            return;
        }
        block_on(layered::layered(1).run(&())).ok();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn step_overhead(c: &mut Criterion) {
    calibrated();
    let mut group = c.benchmark_group("step_overhead");
    group.throughput(Throughput::Elements(layered::STEPS as u64));
    group.bench_function("floor", |b| b.iter(|| block_on(layered::floor(black_box(1)))));
    group.bench_function("floor_call_tool", |b| b.iter(|| block_on(layered::floor_call_tool(black_box(1)))));
    group.bench_function("floor_drive", |b| b.iter(|| block_on(layered::floor_drive(black_box(1)))));
    group.bench_function("workflow", |b| b.iter(|| block_on(layered::layered(black_box(1)).run(&()))));
    group.finish();
}

fn on_tokio(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a current-thread runtime");
    let mut group = c.benchmark_group("tokio_current_thread");
    group.throughput(Throughput::Elements(layered::STEPS as u64));
    group.bench_function("floor", |b| b.iter(|| runtime.block_on(layered::floor(black_box(1)))));
    group
        .bench_function("workflow", |b| b.iter(|| runtime.block_on(layered::layered(black_box(1)).run(&()))));
    group.finish();
}

fn with_subscriber(c: &mut Criterion) {
    let _subscriber = tracing_subscriber::registry().set_default();
    let mut group = c.benchmark_group("with_subscriber");
    group.throughput(Throughput::Elements(layered::STEPS as u64));
    group.bench_function("floor", |b| b.iter(|| block_on(layered::floor(black_box(1)))));
    group.bench_function("workflow", |b| b.iter(|| block_on(layered::layered(black_box(1)).run(&()))));
    group.finish();
}

/// What one reading of each clock costs: the operating system's (what `std` and tokio read) and
/// the processor's counter (what the step driver reads once it is calibrated).
fn clocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock");
    group.bench_function("std_instant_now", |b| b.iter(std::time::Instant::now));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `rdtsc` has no preconditions on x86-64.
    group.bench_function("rdtsc", |b| b.iter(|| unsafe { core::arch::x86_64::_rdtsc() }));
    group.finish();
}

criterion_group!(benches, step_overhead, on_tokio, with_subscriber, clocks);
criterion_main!(benches);
