//! `workflow`: the command line over the built-in tools and workflows of `workflow-library`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = workflow_library::Config::from_env();
    let services = match workflow_library::Services::new(&config) {
        Ok(services) => services,
        Err(err) => {
            eprintln!("error: cannot set up the HTTP client: {err}");
            return ExitCode::FAILURE;
        }
    };
    workflow_cli::main(workflow_library::registry(services), workflow_library::library())
}
