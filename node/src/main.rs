//! The `kvitto` binary: parse the command line, run it, report errors.

use clap::Parser;

fn main() {
    let cli = kvitto_node::cli::Cli::parse();
    if let Err(err) = kvitto_node::cli::run(cli) {
        eprintln!("Error: {err:#}");
        std::process::exit(1);
    }
}
