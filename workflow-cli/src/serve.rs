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
    /// Serve over MCP's streamable HTTP at `http://ADDR/mcp` (`127.0.0.1:8080`) instead of
    /// standard input and output; it prints the URL when it listens.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Tools of MCP servers the workflows call, as `NAME=COMMAND [ARGS…]`.
    #[arg(long = "mcp", value_name = "NAME=COMMAND")]
    mcp: Vec<String>,
}

/// Serves until the client closes standard input.
pub fn run<S: Send + Sync + 'static>(args: &ServeArgs, setup: crate::Setup<S>) -> Result<(), String> {
    let runtime = crate::runtime()?;
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
        if let Some(addr) = &args.http {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!("serving on http://{local}/mcp");
            let stop = tokio_util::sync::CancellationToken::new();
            let on_signal = stop.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                on_signal.cancel();
            });
            return workflow_mcp::serve_http(service, listener, stop)
                .await
                .map_err(|e| format!("the server stopped: {e}"));
        }
        let running =
            service.serve(rmcp::transport::stdio()).await.map_err(|e| format!("cannot serve: {e}"))?;
        running.waiting().await.map_err(|e| format!("the server stopped: {e}"))?;
        Ok(())
    })
}
