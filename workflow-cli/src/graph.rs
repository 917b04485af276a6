//! `workflow graph`: a workflow as a Mermaid flowchart or a Graphviz DOT graph, or a past run of
//! the execution log as a Mermaid Gantt chart.

use clap::{Args, ValueEnum};
use workflow_runtime::WorkflowTemplate;
use workflow_runtime::exec::Trigger;
use workflow_runtime::validate::plan;
use workflow_store::StoredRun;

/// The arguments of `workflow graph`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["workflow_file", "run"]))]
pub struct GraphArgs {
    /// A workflow file (`.wf`, JSON, YAML) or the name of a library workflow.
    #[arg(value_name = "FILE|NAME")]
    workflow_file: Option<String>,
    /// In a file of several workflows, the one to draw.
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
    /// What to write: a Mermaid flowchart or a Graphviz DOT graph.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
    /// Draw the run of this id from the execution log (`latest` for the last one started) as a
    /// Mermaid Gantt chart: when each step ran.
    #[arg(long, value_name = "ID", requires = "store")]
    run: Option<String>,
    #[command(flatten)]
    log: crate::export::LogArgs,
}

/// What `workflow graph` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A Mermaid flowchart (`flowchart TD`), as GitHub and most Markdown viewers draw it.
    Mermaid,
    /// A Graphviz graph, for `dot -Tsvg`.
    Dot,
}

/// Prints the graph or the chart.
pub fn run<S>(args: &GraphArgs, setup: &crate::Setup<S>) -> Result<(), String> {
    if let Some(id) = &args.run {
        let runs = crate::export::read_log(&args.log)?;
        let run = if id == "latest" {
            runs.iter().max_by_key(|r| r.started_at_ms)
        } else {
            runs.iter().find(|r| r.run_id == *id)
        };
        let run = run.ok_or_else(|| format!("the log has no run `{id}` ({} run(s) in it)", runs.len()))?;
        print!("{}", gantt(run));
        return Ok(());
    }
    let spec = args.workflow_file.as_deref().ok_or("give a workflow file or name, or `--run ID`")?;
    let template = crate::load::workflow(spec, args.workflow.as_deref(), &setup.library)?;
    let edges = edges(&template)?;
    match args.format {
        Format::Mermaid => print!("{}", mermaid(&template, &edges)),
        Format::Dot => print!("{}", dot(&template, &edges)),
    }
    Ok(())
}

/// An arrow of the graph: from the step at `from` to the one at `to`, plain (`to` needs `from`)
/// or labelled with the trigger of `to`'s `after from …`.
struct Edge {
    from: usize,
    to: usize,
    trigger: Option<Trigger>,
}

/// The arrows of a workflow that passes the rules (without tools).
fn edges(template: &WorkflowTemplate) -> Result<Vec<Edge>, String> {
    let plan = plan(template).map_err(|p| format!("`{}` has problems:\n{p}", template.name))?;
    let graph = &plan.graph;
    let mut edges = Vec::new();
    for (to, needs) in graph.needs.iter().enumerate() {
        let after = graph.after[to];
        for &from in needs {
            let trigger = after.filter(|(step, _)| *step == from).map(|(_, trigger)| trigger);
            edges.push(Edge { from, to, trigger });
        }
    }
    Ok(edges)
}

/// What a step does besides calling its tool, in a few words: `retry 3`, `timeout 2s`…
fn clauses(step: &workflow_runtime::WorkflowStep) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(each) = &step.for_each {
        out.push(format!("for {} in {}", each.item, each.list));
    }
    if let Some(condition) = &step.condition {
        out.push(format!("if {condition}"));
    }
    if step.retry_count > 0 {
        out.push(format!("retry {}", step.retry_count));
    }
    if let Some(t) = step.timeout_seconds {
        out.push(format!("timeout {t}s"));
    }
    if let Some(fallback) = &step.fallback {
        out.push(format!("fallback {}", fallback.tool_name));
    }
    if let Some(compensate) = &step.compensate {
        out.push(format!("compensate {}", compensate.tool_name));
    }
    out
}

/// Text made safe for a Mermaid label, a Gantt task or title: every character that Mermaid
/// gives a meaning to written as its `#code;` entity, newlines as spaces.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' | '"' | '<' | '>' | '&' | ':' | ';' | '%' | '`' | '|' | '[' | ']' | '{' | '}' => {
                out.push_str(&format!("#{};", c as u32));
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid node id for step `i`: ids are limited to ASCII letters, digits and `_`, and some
/// words (`end`, `graph`…) are keywords.
fn node(i: usize) -> String {
    format!("s{i}")
}

/// The workflow as a Mermaid flowchart: a box per step (its id, its tool and its clauses), an
/// arrow per dependency, dashed and labelled for `after X failed | always`.
fn mermaid(template: &WorkflowTemplate, edges: &[Edge]) -> String {
    let mut out = String::from("flowchart TD\n");
    for (i, step) in template.steps.iter().enumerate() {
        let mut label =
            format!("<b>{}</b><br/>{}", mermaid_text(&step.step_id), mermaid_text(&step.tool_name));
        for clause in clauses(step) {
            label.push_str(&format!("<br/><small>{}</small>", mermaid_text(&clause)));
        }
        out.push_str(&format!("  {}[\"{label}\"]\n", node(i)));
    }
    for edge in edges {
        let (from, to) = (node(edge.from), node(edge.to));
        match edge.trigger {
            None => out.push_str(&format!("  {from} --> {to}\n")),
            Some(trigger) => out.push_str(&format!("  {from} -. {} .-> {to}\n", trigger.as_str())),
        }
    }
    out
}

/// Text inside a DOT quoted string.
fn dot_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The workflow as a Graphviz graph, drawn top to bottom like the Mermaid one.
fn dot(template: &WorkflowTemplate, edges: &[Edge]) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
        dot_text(&template.name)
    );
    for step in &template.steps {
        let mut label = format!("{}\\n{}", dot_text(&step.step_id), dot_text(&step.tool_name));
        for clause in clauses(step) {
            label.push_str(&format!("\\n{}", dot_text(&clause)));
        }
        out.push_str(&format!("  \"{}\" [label=\"{label}\"];\n", dot_text(&step.step_id)));
    }
    for edge in edges {
        let (from, to) = (&template.steps[edge.from].step_id, &template.steps[edge.to].step_id);
        let style = match edge.trigger {
            None => String::new(),
            Some(trigger) => format!(" [style=dashed, label=\"{}\"]", trigger.as_str()),
        };
        out.push_str(&format!("  \"{}\" -> \"{}\"{style};\n", dot_text(from), dot_text(to)));
    }
    out.push_str("}\n");
    out
}

/// A run of the log as a Mermaid Gantt chart: a bar per step, from its start to its end in
/// milliseconds since the run started, marked by how it ended.
fn gantt(run: &StoredRun) -> String {
    let total = run.finished_at_ms.unwrap_or_else(|| {
        run.steps
            .iter()
            .filter_map(|s| s.finished_at_ms.or(s.started_at_ms))
            .max()
            .unwrap_or(run.started_at_ms)
    });
    let span = total.saturating_sub(run.started_at_ms);
    // `%S` wraps at a minute.
    let axis = match span {
        0..60_000 => "%S.%L s",
        60_000..3_600_000 => "%M:%S",
        _ => "%H:%M:%S",
    };
    let short = run.run_id.get(..8).unwrap_or(&run.run_id);
    let mut out = format!(
        "gantt\n  title {} run {} ({}, {} ms)\n  dateFormat x\n  axisFormat {axis}\n",
        mermaid_text(&run.workflow),
        mermaid_text(short),
        mermaid_text(&run.status),
        span
    );
    for (i, step) in run.steps.iter().enumerate() {
        let Some(started) = step.started_at_ms else { continue };
        let start = started.saturating_sub(run.started_at_ms);
        let end = step.finished_at_ms.unwrap_or(total).saturating_sub(run.started_at_ms).max(start + 1);
        let state = step.state.as_str();
        let tag = match state {
            "succeeded" => "done, ",
            "running" => "active, ",
            "failed" => "crit, ",
            _ => "",
        };
        // A task's name must not start with a Gantt keyword (`title`, `section`…): the step's
        // id comes after a fixed word.
        out.push_str(&format!(
            "  step {} ({}) :{tag}t{i}, {start}, {end}\n",
            mermaid_text(&step.step),
            mermaid_text(state)
        ));
    }
    out
}
