//! Errors a user can print: `?` in `main` shows the drawn diagnostic (the offending line with
//! its text underlined), not a struct dump.

use serde_json::json;
use workflow::prelude::*;
use workflow::{WorkflowExecutor, WorkflowTemplate};

/// Send a message to a Slack channel.
#[tool]
async fn slack_send_message(channel: String, message: String) -> Result<String, ToolError> {
    Ok(format!("{channel}: {message}"))
}

fn registry() -> ToolRegistry {
    let mut tools = ToolRegistry::new(());
    tools.register::<slack_send_message>().unwrap();
    tools
}

/// A workflow whose `message` refers to an input that does not exist.
fn misspelt() -> WorkflowTemplate {
    WorkflowTemplate::from_json(
        r##"{ "name": "w", "inputs": [{ "name": "channel", "type": "String" }], "steps": [
            { "step_id": "notify", "tool_name": "slack_send_message",
              "parameters": { "channel": "{{channel}}", "message": "Deployed to {{chanel}}" } } ] }"##,
    )
    .unwrap()
}

#[test]
fn the_debug_form_of_problems_draws_the_offending_text() {
    let problems = workflow::validate::validate(&misspelt(), &registry()).unwrap_err();
    let drawn = format!("{problems:?}");
    assert!(
        drawn.contains(
            "step `notify`, parameter `message`: unknown step or input `chanel`; did you mean `channel`?"
        ),
        "{drawn}"
    );
    assert!(drawn.contains(" 1 │ Deployed to {{chanel}}\n   ·               ───┬──\n"), "{drawn}");
    assert_eq!(drawn, problems.render());
    // What `main` prints for an error returned with `?`.
    let boxed: Box<dyn std::error::Error> = problems.into();
    assert_eq!(format!("{boxed:?}"), drawn);
}

#[tokio::test]
async fn the_debug_form_of_an_execute_error_draws_its_problems() {
    let err = WorkflowExecutor::new()
        .execute(&misspelt(), &registry(), json!({ "channel": "#dev" }))
        .await
        .unwrap_err();
    let drawn = format!("{err:?}");
    assert!(drawn.contains("unknown step or input `chanel`; did you mean `channel`?"), "{drawn}");
    assert!(drawn.contains(" 1 │ Deployed to {{chanel}}\n   ·               ───┬──\n"), "{drawn}");
}

#[test]
fn a_syntax_error_in_workflow_text_is_drawn_at_its_line() {
    let text = "notify(channel: String) {\n    send = slack_send_message(channel: <<channel>>, message: \"hi\") retry;\n}\n";
    let err = WorkflowTemplate::from_dsl(text).unwrap_err();
    let drawn = format!("{err:?}");
    let message = &err.0[0].message;
    assert!(drawn.contains(message.as_str()), "{drawn}");
    assert!(
        drawn.contains(" 2 │     send = slack_send_message(channel: <<channel>>, message: \"hi\") retry;\n"),
        "{drawn}"
    );
    let (line, column) = err.0[0].line_column().unwrap();
    assert_eq!(line, 2);
    let underline = drawn.lines().skip_while(|l| !l.starts_with(" 2 │")).nth(1).unwrap();
    assert_eq!(
        underline.chars().position(|c| c == '┬'),
        Some("   · ".chars().count() + column - 1),
        "{drawn}"
    );
}

#[test]
fn problems_are_miette_diagnostics_with_one_related_diagnostic_each() {
    use miette::Diagnostic as _;
    let problems = workflow::validate::validate(&misspelt(), &registry()).unwrap_err();
    let related: Vec<String> = problems.related().unwrap().map(|d| d.to_string()).collect();
    assert_eq!(related, problems.0.iter().map(ToString::to_string).collect::<Vec<_>>());
    let first = problems.related().unwrap().next().unwrap();
    assert_eq!(first.labels().unwrap().count(), 1);
    assert!(first.source_code().is_some());

    let err = workflow::ExecuteError::from(problems);
    assert_eq!(err.related().unwrap().count(), 1);
}
