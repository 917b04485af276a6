use std::time::Duration;

use workflow::prelude::*;

/// Wait, then return the input plus one.
#[tool]
async fn slow_inc(value: u64, wait_ms: u64) -> Result<u64, ToolError> {
    tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    Ok(value + 1)
}

#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Pair {
    pub left: u64,
    pub right: u64,
    pub items: Vec<u64>,
}

/// Join two numbers.
#[tool]
async fn pair(left: u64, right: u64) -> Result<Pair, ToolError> {
    Ok(Pair { left, right, items: vec![left, right] })
}

workflow! {
    /// The seed's diamond: A, then B and C, then D, then E.
    diamond(start: u64) {
        a = slow_inc(value: <<start>>, wait_ms: 5);
        b = slow_inc(value: <<a>>, wait_ms: 10);
        c = slow_inc(value: <<a>> * 10, wait_ms: 20);
        d = pair(left: <<b>>, right: <<c>>);
        e = slow_inc(value: <<d.items[-1]>>, wait_ms: 1) if <<d.left>> > 0;
    }
}

#[tokio::test(start_paused = true)]
async fn diamond_runs_b_and_c_together() {
    let run = diamond(1).run(&()).await.unwrap();
    assert_eq!(diamond::LEVELS, &[&["a"][..], &["b", "c"], &["d"], &["e"]]);
    assert_eq!(run.d.left, 3);
    assert_eq!(run.e, Some(22));
    let rec = |id| run.record.step(id).unwrap().clone();
    let (a, b, c, d, e) = (rec("a"), rec("b"), rec("c"), rec("d"), rec("e"));
    assert_eq!(b.started, a.finished);
    assert_eq!(c.started, b.started);
    assert!(b.finished < c.finished);
    assert_eq!(d.started, c.finished);
    assert!(e.started >= d.finished);
}
