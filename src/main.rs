//! The `smtp-doctor` binary: parses the command line and hands over to the
//! library's front ends: the interactive screen without a command (and for
//! `demo`), the command line otherwise.

use clap::Parser;
use smtp_doctor::cli::{self, Cli, Command, Exit};
use smtp_doctor::exit::{EXIT_SIGHUP, EXIT_SIGINT, EXIT_SIGTERM};
use smtp_doctor::printable::printable_lines;
use smtp_doctor::tui;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(&format!("cannot start: {e}"));
            return ExitCode::from(cli::EXIT_INTERNAL);
        }
    };
    let tui = matches!(
        cli.command,
        None | Some(Command::Demo(cli::DemoArgs { no_tui: false }))
    );
    if !tui {
        // The screen turns signals into a quit of its own; the command line
        // ends at once, with the terminal as it found it. The handlers are
        // in place before any command starts.
        let _inside = runtime.enter();
        if let Some(watch) = cli_signals() {
            runtime.spawn(watch);
        }
    }
    let result = match cli.command {
        Some(Command::Check(args)) => runtime.block_on(cli::check(args)),
        Some(Command::Explain(args)) => cli::explain(args),
        Some(Command::Profiles(args)) => cli::profiles::command(args),
        Some(Command::Config(args)) => cli::config::command(*args),
        Some(Command::Discover(args)) => runtime.block_on(cli::discover::command(*args)),
        Some(Command::Demo(args)) if args.no_tui => runtime.block_on(cli::demo_report()),
        Some(Command::Demo(_)) => runtime.block_on(tui::demo(cli.ascii)),
        Some(Command::Completions(args)) => cli::shell::completions(args),
        Some(Command::Man(args)) => cli::shell::man(args),
        None => runtime.block_on(tui::run(cli.ascii)),
    };
    // Work still running on blocking threads (a profile read stuck on a
    // hung file system) must not keep the program from ending.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Exit(code, msg)) => {
            say(&msg);
            ExitCode::from(code)
        }
    }
}

/// One message on standard error, printable; a closed or broken standard
/// error loses it rather than ending in a panic.
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "smtp-doctor: {}", printable_lines(msg));
}

/// SIGINT, SIGTERM and SIGHUP during a command: the password prompt gets
/// its terminal back, then the program ends with 128 + the signal number.
fn cli_signals() -> Option<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).ok()?;
    let mut term = signal(SignalKind::terminate()).ok()?;
    let mut hup = signal(SignalKind::hangup()).ok()?;
    Some(async move {
        let code = tokio::select! {
            _ = int.recv() => EXIT_SIGINT,
            _ = term.recv() => EXIT_SIGTERM,
            _ = hup.recv() => EXIT_SIGHUP,
        };
        cli::prompt::restore_terminal();
        std::process::exit(i32::from(code));
    })
}
