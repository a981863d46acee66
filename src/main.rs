//! The `smtp-doctor` binary: parses the command line and hands over to the
//! library's front ends: the interactive screen without a command (and for
//! `demo`), the command line otherwise.

use clap::Parser;
use smtp_doctor::cli::{self, Cli, Command, Exit};
use smtp_doctor::tui;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("smtp-doctor: cannot start: {e}");
            return ExitCode::from(cli::EXIT_INTERNAL);
        }
    };
    let result = match cli.command {
        Some(Command::Check(args)) => runtime.block_on(cli::check(args)),
        Some(Command::Explain(args)) => cli::explain(args),
        Some(Command::Profiles(args)) => cli::profiles::command(args),
        Some(Command::Demo(args)) if args.no_tui => runtime.block_on(cli::demo_report()),
        Some(Command::Demo(_)) => runtime.block_on(tui::demo(cli.ascii)),
        Some(Command::Completions(args)) => cli::shell::completions(args),
        Some(Command::Man(args)) => cli::shell::man(args),
        None => runtime.block_on(tui::run(cli.ascii)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Exit(code, msg)) => {
            eprintln!("smtp-doctor: {msg}");
            ExitCode::from(code)
        }
    }
}
