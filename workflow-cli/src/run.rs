//! `workflow run`: runs a workflow file or a library workflow with the program's tools, showing
//! each step as it starts and ends, and prints what the workflow returns (the outputs of the steps
//! no other step reads) as JSON.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};
use workflow_runtime::journal::RunId;
use workflow_runtime::validate::InputType;
use workflow_runtime::{RunContext, RunObserver, StepRecord, StepStatus, WorkflowExecutor, WorkflowTemplate};

/// The arguments of `workflow run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A workflow file (`.wf`, JSON, YAML) or the name of a library workflow.
    #[arg(value_name = "FILE|NAME")]
    workflow_file: String,
    /// In a file of several workflows, the one to run.
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
    /// An input, as `name=value`: the value is read as JSON (`3`, `true`, `["a","b"]`) unless the
    /// input is declared a string or is not valid JSON, when it is the text as written.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// Journal the run in this execution log (for `stats`, `graph --run`, `export`).
    #[command(flatten)]
    log: crate::export::LogArgs,
    /// Tools of MCP servers the workflow calls, as `NAME=COMMAND [ARGS…]` (a child process each,
    /// over stdio).
    #[arg(long = "mcp", value_name = "NAME=COMMAND")]
    mcp: Vec<String>,
    /// Print every step's output, not only what the workflow returns (the outputs of the steps
    /// no other step reads).
    #[arg(long)]
    all_outputs: bool,
    /// Count the tokens of the steps' outputs with this tokenizer (those kept out of a model,
    /// and those returned), in the run's record and the log; `none` to count nothing.
    #[arg(long, value_name = "ENCODING", default_value = "o200k")]
    tokens: String,
}

/// Runs the workflow; fails when it fails.
pub fn run<S: Send + Sync + 'static>(args: &RunArgs, mut setup: crate::Setup<S>) -> Result<(), String> {
    let template = crate::load::workflow(&args.workflow_file, args.workflow.as_deref(), &setup.library)?;
    let inputs = inputs(&template, &args.inputs)?;
    let tokenizer = match args.tokens.as_str() {
        "none" => None,
        name => {
            let encoding = workflow_tokens::Encoding::from_name(name)
                .ok_or_else(|| format!("`--tokens {name}`: the tokenizers are o200k, cl100k and none"))?;
            Some(workflow_tokens::Tiktoken::new(encoding).map_err(|e| e.to_string())?)
        }
    };
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        crate::mcp::connect(&args.mcp, &mut setup.tools).await?;
        let progress = Progress::new(template.steps.len());
        let mut context = RunContext::new(&setup.tools).observe(&*progress);
        if let Some(tokenizer) = &tokenizer {
            context = context.with_tokenizer(tokenizer);
        }
        if args.log.given() {
            let journal = crate::export::open_journal(&args.log).await?;
            let id = RunId::random();
            progress.line(format!("run {id}"));
            context = context.with_journal(journal, id);
        }
        let result = WorkflowExecutor::new().execute(&template, context, inputs).await;
        progress.finish();
        let run = result.map_err(|e| e.to_string())?;
        if let Some(tokens) = &run.record.tokens {
            let share = tokens
                .kept_share()
                .map(|s| format!(" ({:.1} % of the outputs' tokens)", s * 100.0))
                .unwrap_or_default();
            progress.line(format!(
                "{} tokens ({}) stayed in the workflow{share}; {} returned",
                tokens.kept, tokens.encoding, tokens.returned
            ));
        }
        // What the workflow returns: the outputs of the steps no other step needs.
        let returned =
            workflow_runtime::validate::plan(&template).map_err(|p| p.to_string())?.graph.returned();
        let outputs: Map<String, Value> = template
            .steps
            .iter()
            .zip(returned)
            .filter(|(_, returned)| args.all_outputs || *returned)
            .map(|(s, _)| s)
            .filter_map(|s| run.context.get_result(&s.step_id).map(|v| (s.step_id.clone(), v.clone())))
            .collect();
        let text = serde_json::to_string_pretty(&Value::Object(outputs)).map_err(|e| e.to_string())?;
        println!("{text}");
        Ok(())
    })
}

/// The run's inputs from `name=value` pairs, typed by the workflow's declared inputs.
fn inputs(template: &WorkflowTemplate, pairs: &[String]) -> Result<Value, String> {
    let mut inputs = Map::new();
    for pair in pairs {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(format!("`--input {pair}`: write it as `name=value`"));
        };
        let declared = template.inputs.iter().find(|i| i.name == name);
        if !template.inputs.is_empty() && declared.is_none() {
            let names: Vec<&str> = template.inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(format!(
                "`{}` has no input `{name}`; its inputs are {}",
                template.name,
                names.join(", ")
            ));
        }
        let ty = InputType::parse(declared.and_then(|i| i.ty.as_deref()));
        let as_text = Value::String(text.to_owned());
        let value = match serde_json::from_str::<Value>(text) {
            // `--input id=42` for a `String` input is the text "42".
            Ok(json) if ty.accepts(&json) || !ty.accepts(&as_text) => json,
            _ => as_text,
        };
        if !ty.accepts(&value) {
            return Err(format!("input `{name}` must be {}; `{text}` is not", ty.describe()));
        }
        inputs.insert(name.to_owned(), value);
    }
    Ok(Value::Object(inputs))
}

/// The run's progress on standard error: a bar of the steps ended with those running, on a
/// terminal; a line per step otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    running: Mutex<BTreeSet<String>>,
}

impl Progress {
    fn new(steps: usize) -> Arc<Self> {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(steps as u64);
            let style = ProgressStyle::with_template("{spinner:.cyan} [{pos}/{len}] {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Arc::new(Progress { bar, running: Mutex::new(BTreeSet::new()) })
    }

    /// A line above the bar, or on its own.
    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn show_running(&self) {
        if let (Some(bar), Ok(running)) = (&self.bar, self.running.lock()) {
            let names: Vec<&str> = running.iter().map(String::as_str).collect();
            bar.set_message(if names.is_empty() {
                String::new()
            } else {
                format!("running {}", names.join(", "))
            });
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl RunObserver for Progress {
    fn on_step_started(&self, step: &str, _tool: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.insert(step.to_owned());
        }
        self.show_running();
    }

    fn on_step_finished(&self, step: &StepRecord) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(step.step.as_ref());
        }
        let mark = match step.status {
            StepStatus::Succeeded => "ok  ",
            StepStatus::Skipped => "skip",
            StepStatus::Cancelled => "stop",
            _ => "FAIL",
        };
        let took = step.duration().map(|d| format!(" in {d:.1?}")).unwrap_or_default();
        let attempts = match step.attempts.len() {
            0 | 1 => String::new(),
            n => format!(", {n} attempts"),
        };
        let why = step.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default();
        self.line(format!("{mark} {} ({}){took}{attempts}{why}", step.step, step.tool));
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.show_running();
    }
}
