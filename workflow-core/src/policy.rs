//! What the step driver runs: a step's retry policy and time limit, with the one set of defaults
//! both kinds of workflow use.

use std::time::Duration;

use crate::model::{OnError, Retry, Step};

/// The delay before the first retry when `retry N` gives no `backoff` (the seed's
/// `backoff_seconds = 2`).
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(2);

/// The factor by which each retry's delay grows when the clause gives none (the seed's
/// `backoff_multiplier = 2.0`).
pub const DEFAULT_MULTIPLIER: f64 = 2.0;

/// The most retries a step may ask for.
pub const MAX_RETRIES: u64 = 100;

/// The longest duration a clause may give, in milliseconds (about 31 years): anything longer is
/// a mistake, and keeping below it means every duration converts without overflow.
pub const MAX_DURATION_MS: f64 = 1e12;

/// The longest any delay between retries becomes, when no `max` caps it sooner.
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// How a step retries a failed call.
///
/// The delay before retry `n` (from 1) is `backoff × multiplier^(n-1)`, capped at `max_delay`;
/// with `jitter`, the driver takes a random fraction of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// How many times to call again after the first failure.
    pub retries: u32,
    /// The delay before the first retry.
    pub backoff: Duration,
    /// The factor by which each delay grows (at least 1).
    pub multiplier: f64,
    /// The longest delay.
    pub max_delay: Option<Duration>,
    /// Whether to randomise delays ("full jitter").
    pub jitter: bool,
}

impl RetryPolicy {
    /// No retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        retries: 0,
        backoff: DEFAULT_BACKOFF,
        multiplier: DEFAULT_MULTIPLIER,
        max_delay: None,
        jitter: false,
    };

    /// The delay before retry number `retry` (from 1), before jitter. A delay that would overflow
    /// is the cap (`max_delay`, or [`MAX_DELAY`]), never a panic.
    pub fn delay(&self, retry: u32) -> Duration {
        let cap = self.max_delay.unwrap_or(MAX_DELAY).min(MAX_DELAY);
        let exp = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.backoff.as_secs_f64() * self.multiplier.max(1.0).powi(exp);
        Duration::try_from_secs_f64(secs).map_or(cap, |d| d.min(cap))
    }
}

/// How a compensation (`compensate tool(…)`) retries: up to 3 more calls, 1 s apart and then
/// twice as long each time, at most 10 s. A compensation undoes what its step did, so it tries
/// harder than a step that gives no `retry`.
pub const COMPENSATION_RETRY: RetryPolicy = RetryPolicy {
    retries: 3,
    backoff: Duration::from_secs(1),
    multiplier: 2.0,
    max_delay: Some(Duration::from_secs(10)),
    jitter: false,
};

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::NONE
    }
}

/// What the driver needs of one step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepPolicy {
    /// Its retries.
    pub retry: RetryPolicy,
    /// The limit of one attempt.
    pub timeout: Option<Duration>,
    /// The limit of the step with all its attempts and the waits between them.
    pub deadline: Option<Duration>,
    /// What its failure does.
    pub on_error: OnError,
    /// The error classes its retries are for (`retry N on timeout, rate_limited`); every
    /// retryable error when empty.
    pub retry_on: Vec<String>,
}

impl StepPolicy {
    /// The policy a checked step asks for, defaults filled in. Durations and counts out of range
    /// were rejected by validation; here they are clamped, so this never fails.
    pub fn of<S>(step: &Step<S>) -> Self {
        Self {
            retry: step.retry.as_ref().map_or(RetryPolicy::NONE, retry_policy),
            timeout: step.timeout.as_ref().map(|t| millis(t.value)),
            deadline: step.deadline.as_ref().map(|d| millis(d.value)),
            on_error: step.on_error.as_ref().map_or(OnError::Abort, |o| o.value),
            retry_on: step.retry.iter().flat_map(|r| &r.on).map(|c| c.value.clone()).collect(),
        }
    }
}

impl StepPolicy {
    /// The longest one call of the step and its retries can take, with the waits between them
    /// at their longest (jitter only shortens them): the `deadline`, or else every attempt at
    /// its `timeout`; `None` when neither bounds it.
    pub fn worst_case(&self) -> Option<Duration> {
        if let Some(deadline) = self.deadline {
            return Some(deadline);
        }
        let timeout = self.timeout?;
        let waits = (1..=self.retry.retries).map(|k| self.retry.delay(k));
        let attempts = u32::try_from(u64::from(self.retry.retries) + 1).unwrap_or(u32::MAX);
        waits.fold(timeout.checked_mul(attempts), |total, wait| total?.checked_add(wait))
    }
}

/// The longest a run of a workflow can take, from its steps' time limits: the longest path
/// through its steps (by levels: the sum of each level's longest step; eagerly: the longest
/// chain), plus, for a run that fails, every compensation at its longest. `None` when a step
/// has no bound: no `timeout` or `deadline`, a `for` over a list of unknown length, a fallback
/// or a compensation without a `timeout`.
pub fn worst_case<S>(
    workflow: &crate::model::Workflow<S>,
    graph: &crate::graph::Graph,
    policies: &[StepPolicy],
    eager: bool,
) -> Option<Duration> {
    let mut step = Vec::with_capacity(policies.len());
    let mut compensations = Duration::ZERO;
    for (s, policy) in workflow.steps.iter().zip(policies) {
        if s.for_each.is_some() {
            return None;
        }
        let own = policy.worst_case()?;
        // A fallback is one more call, within the step's timeout.
        let own = if s.fallback.is_some() { own.checked_add(policy.timeout?)? } else { own };
        step.push(own);
        if s.compensate.is_some() {
            let compensation = StepPolicy { retry: COMPENSATION_RETRY, deadline: None, ..policy.clone() };
            compensations = compensations.checked_add(compensation.worst_case()?)?;
        }
    }
    let path = if eager {
        let mut finish = vec![Duration::ZERO; step.len()];
        for &i in graph.levels.iter().flatten() {
            let start = graph.needs[i].iter().map(|&n| finish[n]).max().unwrap_or(Duration::ZERO);
            finish[i] = start.checked_add(step[i])?;
        }
        finish.into_iter().max().unwrap_or(Duration::ZERO)
    } else {
        let longest = |level: &Vec<usize>| level.iter().map(|&i| step[i]).max().unwrap_or(Duration::ZERO);
        graph.levels.iter().map(longest).try_fold(Duration::ZERO, Duration::checked_add)?
    };
    path.checked_add(compensations)
}

fn retry_policy<S>(retry: &Retry<S>) -> RetryPolicy {
    RetryPolicy {
        retries: u32::try_from(retry.count.value.min(MAX_RETRIES)).unwrap_or(0),
        backoff: retry.backoff.as_ref().map_or(DEFAULT_BACKOFF, |b| millis(b.value)),
        multiplier: retry.multiplier.as_ref().map_or(DEFAULT_MULTIPLIER, |m| m.value),
        max_delay: retry.max.as_ref().map(|m| millis(m.value)),
        jitter: retry.jitter,
    }
}

/// Milliseconds as a `Duration`, clamped to `0..=MAX_DURATION_MS` (`NaN` is zero).
pub fn millis(ms: f64) -> Duration {
    let ms = if ms.is_nan() { 0.0 } else { ms.clamp(0.0, MAX_DURATION_MS) };
    Duration::from_micros((ms * 1000.0).round() as u64)
}

/// Milliseconds in a duration written `30s`, `500ms`, `1.5s`, `2m` or `1h`; `None` without one
/// of those units.
pub fn duration_ms(text: &str) -> Option<f64> {
    let (digits, unit) = if let Some(d) = text.strip_suffix("ms") {
        (d, 1.0)
    } else if let Some(d) = text.strip_suffix('s') {
        (d, 1_000.0)
    } else if let Some(d) = text.strip_suffix('m') {
        (d, 60_000.0)
    } else {
        (text.strip_suffix('h')?, 3_600_000.0)
    };
    digits.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v * unit)
}

/// A duration in milliseconds written the shortest way the DSL reads back exactly
/// (`2s`, `1500ms`, `1m`, `0.5ms`).
pub fn duration_text(ms: f64) -> String {
    for (unit, factor) in [("h", 3_600_000.0), ("m", 60_000.0), ("s", 1_000.0)] {
        let v = ms / factor;
        if v >= 1.0 && v.fract() == 0.0 {
            return format!("{v}{unit}");
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped_without_overflow() {
        let p = RetryPolicy { retries: 5, backoff: Duration::from_secs(1), ..RetryPolicy::NONE };
        assert_eq!(p.delay(1), Duration::from_secs(1));
        assert_eq!(p.delay(3), Duration::from_secs(4));
        assert_eq!(p.delay(u32::MAX), MAX_DELAY);
        let capped = RetryPolicy { max_delay: Some(Duration::from_secs(3)), ..p };
        assert_eq!(capped.delay(3), Duration::from_secs(3));
        let huge = RetryPolicy { multiplier: f64::MAX, ..p };
        assert_eq!(huge.delay(2), MAX_DELAY);
    }

    #[test]
    fn the_worst_case_adds_every_attempt_and_wait_along_the_longest_path() {
        let workflow = crate::testing::workflow(
            "a = t() timeout 1s retry 2 backoff 1s; b = t() deadline 5s; c = t(x: <<a>>) timeout 2s;",
        );
        let checked = crate::validate::check(workflow).unwrap();
        let worst = |eager| worst_case(&checked.workflow, &checked.graph, &checked.policies, eager);
        // `a`: three attempts of 1 s and waits of 1 s and 2 s; its level waits for it, not `b`.
        assert_eq!(checked.policies[0].worst_case(), Some(Duration::from_secs(6)));
        assert_eq!(worst(false), Some(Duration::from_secs(8)));
        assert_eq!(worst(true), Some(Duration::from_secs(8)));
        let unbounded =
            crate::validate::check(crate::testing::workflow("a = t() timeout 1s; b = t();")).unwrap();
        assert_eq!(worst_case(&unbounded.workflow, &unbounded.graph, &unbounded.policies, false), None);
        let chains = crate::validate::check(crate::testing::workflow(
            "a = t() timeout 10s; b = t() timeout 1s; c = t(x: <<b>>) timeout 1s; d = t(x: <<a>>) timeout 1s; e = t(x: <<c>>) timeout 1s;",
        ))
        .unwrap();
        let worst = |eager| worst_case(&chains.workflow, &chains.graph, &chains.policies, eager);
        // By levels: 10 s + 1 s + 1 s; eagerly, `a` then `d` is the longest chain.
        assert_eq!(worst(false), Some(Duration::from_secs(12)));
        assert_eq!(worst(true), Some(Duration::from_secs(11)));
    }

    #[test]
    fn durations_read_and_print_back() {
        for (text, ms) in
            [("30s", 30_000.0), ("500ms", 500.0), ("1.5s", 1_500.0), ("2m", 120_000.0), ("1h", 3.6e6)]
        {
            assert_eq!(duration_ms(text), Some(ms), "{text}");
            assert_eq!(duration_ms(&duration_text(ms)), Some(ms), "{text}");
        }
        assert_eq!(duration_ms("30"), None);
        assert_eq!(millis(-1.0), Duration::ZERO);
        assert_eq!(millis(f64::INFINITY), millis(MAX_DURATION_MS));
    }
}
