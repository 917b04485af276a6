//! `workflow serve FILE|NAME…`: workflows served as MCP tools on standard input and output, with
//! the program's tools (and, with `--tools`, those tools too).

use clap::Args;
use rmcp::ServiceExt;
use workflow_mcp::McpService;

/// The arguments of `workflow serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Workflow files (`.wf`, JSON, YAML) or names of library workflows: one MCP tool each.
    #[arg(value_name = "FILE|NAME", required = true)]
    workflows: Vec<String>,
    /// Serve the program's tools as well.
    #[arg(long)]
    tools: bool,
    /// Tools of MCP servers the workflows call, as `NAME=COMMAND [ARGS…]`.
    #[arg(long = "mcp", value_name = "NAME=COMMAND")]
    mcp: Vec<String>,
}

/// Serves until the client closes standard input.
pub fn run<S: Send + Sync + 'static>(args: &ServeArgs, setup: crate::Setup<S>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(async {
        let crate::Setup { mut tools, library } = setup;
        crate::mcp::connect(&args.mcp, &mut tools).await?;
        let mut service: McpService<S> = McpService::new("workflow", tools);
        for spec in &args.workflows {
            let template = crate::load::workflow(spec, None, &library)?;
            service = service.workflow(template).map_err(|e| e.to_string())?;
        }
        if args.tools {
            service = service.with_tools();
        }
        let running =
            service.serve(rmcp::transport::stdio()).await.map_err(|e| format!("cannot serve: {e}"))?;
        running.waiting().await.map_err(|e| format!("the server stopped: {e}"))?;
        Ok(())
    })
}
