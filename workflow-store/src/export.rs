//! The log as JSONL in the pattern miner's event format.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::ops::{StepState, StoredRun};
use workflow_runtime::StepStatus;

/// Writes `runs` as JSONL in the event format `workflow mine` reads: one line per step whose
/// tool was called, in the order the steps started, with the run as the session:
/// `session_id` (the run's id), `seq`, `timestamp` (milliseconds since the Unix epoch),
/// `tool_name`, `parameters` (the arguments, secrets redacted; `{}` when not recorded, as for a
/// `for` step), `result` (the output; `{"error": …}` for a failure), `success`, `duration_ms`
/// and `source` (`workflow:<name>`). Returns the number of lines.
///
/// Every value is written by serde_json: control characters in a value are escaped, so a value
/// cannot forge a line.
pub fn export_jsonl<W: Write>(runs: &[StoredRun], mut out: W) -> io::Result<usize> {
    let mut lines = 0;
    for run in runs {
        // A `for` step is logged as its calls (`<step>/<i>`) and as the step: its calls are what
        // the tool did, so the step itself is left out.
        let fanned: std::collections::HashSet<&str> = run
            .steps
            .iter()
            .filter_map(|s| s.step.rsplit_once('/'))
            .filter(|(_, i)| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
            .map(|(step, _)| step)
            .collect();
        for step in run.steps.iter().filter(|s| !fanned.contains(s.step.as_str())) {
            let success = match step.state {
                StepState::Ended(StepStatus::Succeeded | StepStatus::Compensated) => true,
                StepState::Ended(StepStatus::Failed) => false,
                // Not a finished call: left out.
                _ => continue,
            };
            let result = match (&step.output, &step.error) {
                (Some(output), _) if success => output.clone(),
                (_, Some(error)) => json!({ "error": error }),
                _ => Value::Null,
            };
            let duration =
                step.record.as_ref().and_then(|r| r.get("duration_ms")).cloned().unwrap_or(Value::Null);
            let line = json!({
                "session_id": run.run_id,
                "seq": step.seq,
                "timestamp": step.started_at_ms,
                "tool_name": step.tool,
                "parameters": step.args.clone().filter(Value::is_object).unwrap_or_else(|| json!({})),
                "result": result,
                "success": success,
                "duration_ms": duration,
                "source": format!("workflow:{}", run.workflow),
            });
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
            lines += 1;
        }
    }
    out.flush()?;
    Ok(lines)
}
