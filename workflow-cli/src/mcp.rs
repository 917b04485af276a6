//! `--mcp NAME=COMMAND [ARGS…]`: the tools of MCP servers, for `run` and `serve`.

use workflow_mcp::McpServer;
use workflow_runtime::ToolRegistry;

/// Starts each server (`NAME=COMMAND ARGS…`, split at spaces) and registers its tools in
/// `tools` under their own names. The servers run as long as `tools` holds their tools.
pub async fn connect<S: Send + Sync + 'static>(
    specs: &[String],
    tools: &mut ToolRegistry<S>,
) -> Result<(), String> {
    for spec in specs {
        let Some((name, command)) = spec.split_once('=') else {
            return Err(format!("`--mcp {spec}`: write it as `NAME=COMMAND [ARGS…]`"));
        };
        let mut words = command.split_whitespace();
        let Some(program) = words.next() else {
            return Err(format!("`--mcp {spec}`: no command after `{name}=`"));
        };
        let server = McpServer::stdio(name, program, words).connect().await.map_err(|e| e.to_string())?;
        server.register(tools, "").map_err(|e| format!("MCP server `{name}`: {e}"))?;
    }
    Ok(())
}
