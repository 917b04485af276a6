//! Retry schedules under paused time: exact without jitter, never above the capped delay with
//! it (a property over policies and seeds), and a permanent error never retried.

use std::time::Duration;

use proptest::prelude::*;
use workflow::__private::exec::{self, StepSpec};
use workflow::{RetryPolicy, StepError, ToolError};

/// The waits between the attempts of a step that always fails with `error`, under `policy`,
/// with retry jitter drawn from `seed`.
fn waits(policy: RetryPolicy, seed: u64, error: fn() -> ToolError) -> Vec<Duration> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let spec = StepSpec { retry: policy, ..StepSpec::new("s", "t") };
    let run = async {
        exec::drive_owned(&spec, || async move {
            Err::<(), _>(StepError::Tool { tool: "t".into(), source: error() })
        })
        .await
    };
    let (record, result) = runtime.block_on(exec::timed_with_seed(run, Some(seed)));
    assert!(result.is_err());
    let attempts: Vec<_> = record.attempts.iter().collect();
    attempts.windows(2).map(|w| w[1].started.duration_since(w[0].finished)).collect()
}

#[test]
fn backoff_doubles_and_is_capped() {
    let policy = RetryPolicy {
        retries: 4,
        backoff: Duration::from_secs(1),
        multiplier: 2.0,
        max_delay: Some(Duration::from_secs(3)),
        jitter: false,
    };
    let secs = |s: &[u64]| s.iter().map(|&s| Duration::from_secs(s)).collect::<Vec<_>>();
    assert_eq!(waits(policy, 0, || ToolError::retryable("busy")), secs(&[1, 2, 3, 3]));
    assert_eq!(waits(policy, 0, || ToolError::permanent("no such user")), secs(&[]), "stops at once");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn jitter_never_waits_longer_than_the_capped_delay(
        retries in 0u32..6,
        backoff_ms in 0u64..5_000,
        multiplier in 1.0f64..4.0,
        max_ms in proptest::option::of(1u64..10_000),
        seed in any::<u64>(),
    ) {
        let max_delay = max_ms.map(Duration::from_millis);
        let policy = RetryPolicy { retries, backoff: Duration::from_millis(backoff_ms), multiplier, max_delay, jitter: true };
        let waits = waits(policy, seed, || ToolError::retryable("busy"));
        prop_assert_eq!(waits.len(), retries as usize);
        for (k, wait) in waits.iter().enumerate() {
            let capped = policy.delay(u32::try_from(k).unwrap() + 1);
            // tokio's timer counts whole milliseconds: a sleep ends at the next one.
            let bound = Duration::from_millis(u64::try_from(capped.as_nanos().div_ceil(1_000_000)).unwrap());
            prop_assert!(*wait <= bound, "wait {} of {:?} is above {:?} ({:?} rounded up)", k + 1, wait, bound, capped);
        }
        // The same seed, the same schedule.
        prop_assert_eq!(waits, self::waits(policy, seed, || ToolError::retryable("busy")));
    }
}
