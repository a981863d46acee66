//! The command line: `check`, `explain`. Exit codes: 0 nothing wrong found,
//! 1 a problem found, 2 bad usage or invalid settings, 3 internal error.

use crate::diagnose::{self, Verdict};
use crate::probe::{self, Event};
use crate::report::{Format, Paint, Report};
use crate::settings::{Incoming, IncomingProtocol, Password, Security, Settings};
use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Read, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

pub mod config;
pub mod discover;
pub mod logtable;
pub mod profiles;
pub mod prompt;
pub mod shell;
pub mod support_log;

pub use crate::exit::{EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Exit};

#[derive(Parser, Debug)]
#[command(
    name = "smtp-doctor",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SMTP_DOCTOR_COMMIT"), ")"),
    about = "Finds out why mail cannot be sent, and says what to change",
    long_about = "Finds out why a mail client, contact form or device cannot send mail: it checks DNS, \
the ports, the greeting, encryption, login and relaying of an outgoing (SMTP) server, and explains the \
most likely cause with fixes.\n\nExit codes: 0 nothing wrong found, 1 a problem found, 2 bad usage or \
invalid settings, 3 internal error, 129 ended by SIGHUP, 130 ended by Ctrl-C (SIGINT), 143 ended by \
SIGTERM (the interactive screen too, after it has restored the terminal)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Plain ASCII symbols and borders on the interactive screen.
    #[arg(long, global = true)]
    pub ascii: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check an outgoing mail server and diagnose what stops mail.
    Check(Box<CheckArgs>),
    /// Explain a bounce, an error message or a log line.
    Explain(ExplainArgs),
    /// List, show or delete saved profiles.
    Profiles(profiles::ProfilesArgs),
    /// Open the interactive screen against a built-in server that refuses to relay without login.
    Demo(DemoArgs),
    /// Print ready-to-paste settings for a mail program (Thunderbird, msmtp, Postfix, PHPMailer…).
    Config(Box<config::ConfigArgs>),
    /// Find the settings that work for an email address (and, with a password, try one login).
    Discover(Box<discover::DiscoverArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff), or write every page with --out-dir.
    Man(shell::ManArgs),
}

#[derive(Args, Debug, Default)]
pub struct DemoArgs {
    /// Print the report instead of opening the interactive screen.
    #[arg(long)]
    pub no_tui: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Use a saved profile's settings; flags given here override them.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Outgoing (SMTP) server name or IP address (required unless the profile has one).
    #[arg(long, short = 's')]
    pub server: Option<String>,
    /// Port (default: 465 for --security tls, 587 otherwise).
    #[arg(long, short = 'p')]
    pub port: Option<u16>,
    /// Encryption: tls (SSL/TLS from the first byte), starttls or none.
    #[arg(long, value_parser = parse_security)]
    pub security: Option<Security>,
    /// The server does not require authentication (skip AUTH).
    #[arg(long)]
    pub no_auth: bool,
    /// Email account (defaults to --user when that is an address).
    #[arg(long)]
    pub account: Option<String>,
    /// Login for AUTH (defaults to the account).
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "password_stdin")]
    pub password_env: Option<String>,
    /// Log in with the OAuth 2 access token in this environment variable (XOAUTH2 or OAUTHBEARER).
    #[arg(long, value_name = "VAR")]
    pub oauth_token_env: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Allow sending the password without encryption, for this run only (never saved in a profile).
    #[arg(long)]
    pub allow_plaintext_auth: bool,
    /// Log in even when the server's certificate is not trusted (testing only).
    #[arg(long)]
    pub insecure_login: bool,
    /// Sender address for MAIL FROM (defaults to the account).
    #[arg(long)]
    pub from: Option<String>,
    /// Test recipient at an external domain for RCPT TO (nothing is sent).
    #[arg(long)]
    pub to: Option<String>,
    /// EHLO name (default: this machine's address literal).
    #[arg(long)]
    pub helo: Option<String>,
    /// DNS server to use instead of the system's: IP or IP:PORT.
    #[arg(long, value_name = "IP[:PORT]", env = "SMTP_DOCTOR_DNS")]
    pub dns: Option<String>,
    /// Extra CA certificates (PEM) to trust beside the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// The public IP address of this network, when known.
    #[arg(long, value_name = "IP")]
    pub public_ip: Option<IpAddr>,
    /// DNS server to ask the public-IP echo names (default: the echo services' own).
    #[arg(long, value_name = "IP[:PORT]", env = "SMTP_DOCTOR_ECHO_DNS")]
    pub echo_dns: Option<String>,
    /// This is an internal network: private and loopback addresses are expected.
    #[arg(long)]
    pub internal: bool,
    /// Also look the public IP up in DNS blocklists.
    #[arg(long)]
    pub dnsbl: bool,
    /// Send one real test message to --to (only with this flag).
    #[arg(long)]
    pub send: bool,
    /// Incoming server, to tell a wrong password from SMTP login switched off.
    #[arg(long, value_name = "HOST")]
    pub incoming_server: Option<String>,
    /// Incoming protocol: imap or pop3.
    #[arg(long, value_name = "imap|pop3", default_value = "imap", value_parser = parse_incoming)]
    pub incoming_protocol: IncomingProtocol,
    /// Incoming port (default: 993 IMAP / 995 POP3 with tls, 143 / 110 otherwise).
    #[arg(long, value_name = "N")]
    pub incoming_port: Option<u16>,
    /// Incoming encryption: tls, starttls or none (default tls).
    #[arg(long, value_parser = parse_security, value_name = "tls|starttls|none")]
    pub incoming_security: Option<Security>,
    /// Seconds each network step may take.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
    /// Report format on standard output.
    #[arg(long, default_value = "text", value_parser = format_parser())]
    pub format: Format,
    /// No progress lines on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Write the support log (timings, every server line, DNS answers) to standard error.
    #[arg(long, short = 'v', conflicts_with = "quiet")]
    pub verbose: bool,
    /// Write the support log to this file (for a support ticket; no password in it).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The text to explain, or - (or nothing) to read standard input. Text
    /// that starts with a dash goes after --: explain -- "-ERR ...".
    pub text: Vec<String>,
    /// Triage a whole mail log instead (Postfix, Exim, sendmail, journalctl
    /// output, a Microsoft 365 message trace CSV; gzip is fine), - for
    /// standard input: a ranked table of why mail was refused.
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub log: Option<PathBuf>,
    /// Output format.
    #[arg(long, default_value = "text", value_parser = format_parser())]
    pub format: Format,
}

fn parse_incoming(s: &str) -> Result<IncomingProtocol, String> {
    IncomingProtocol::parse(s).ok_or_else(|| format!("\"{s}\" is not one of imap, pop3"))
}

/// `--format`: the report formats, listed in `--help`.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = Format> {
    clap::builder::PossibleValuesParser::new(Format::NAMES)
        .map(|name: String| Format::parse(&name).unwrap_or(Format::Text))
}

fn parse_security(s: &str) -> Result<Security, String> {
    Security::parse(s).ok_or_else(|| format!("\"{s}\" is not one of tls, starttls, none"))
}

/// Builds the settings from the flags (without validation).
pub fn settings_from(args: &CheckArgs, stdin: &mut dyn Read) -> Result<Settings, Exit> {
    let security = match (args.security, args.port) {
        (Some(s), _) => s,
        (None, Some(465)) => Security::Tls,
        (None, Some(25)) if args.no_auth => Security::None,
        (None, _) => Security::Starttls,
    };
    let port = args.port.unwrap_or(security.usual_port());
    let password = if let Some(var) = &args.password_env {
        match std::env::var(var) {
            Ok(v) => v,
            Err(_) => {
                return Err(Exit(
                    EXIT_USAGE,
                    format!("The environment variable {var} is not set (--password-env)"),
                ));
            }
        }
    } else if args.password_stdin {
        prompt::read_password_line(stdin).map_err(|e| {
            Exit(
                EXIT_USAGE,
                format!("Cannot read the password from standard input: {e}"),
            )
        })?
    } else {
        String::new()
    };
    let oauth_token = match &args.oauth_token_env {
        Some(var) => std::env::var(var).map_err(|_| {
            Exit(
                EXIT_USAGE,
                format!("The environment variable {var} is not set (--oauth-token-env)"),
            )
        })?,
        None => String::new(),
    };
    let user = args.user.clone().unwrap_or_default();
    let account = args.account.clone().unwrap_or_else(|| {
        if user.contains('@') {
            user.clone()
        } else {
            String::new()
        }
    });
    let flags = Settings {
        account,
        login: user,
        password: Password::new(password),
        oauth_token: Password::new(oauth_token.trim()),
        server: args.server.clone().unwrap_or_default(),
        port,
        security,
        auth: !args.no_auth,
        allow_plaintext_auth: args.allow_plaintext_auth,
        insecure_login: args.insecure_login,
        sender: args.from.clone().unwrap_or_default(),
        recipient: args.to.clone().unwrap_or_default(),
        helo: args.helo.clone().unwrap_or_default(),
        timeout_secs: args.timeout,
        dns: args.dns.clone(),
        ca_file: args.ca_file.clone(),
        public_ip: args.public_ip,
        echo_dns: args.echo_dns.clone(),
        internal_network: args.internal,
        dnsbl: args.dnsbl,
        send_test_message: args.send,
        incoming: args.incoming_server.as_ref().map(|server| {
            let security = args.incoming_security.unwrap_or(Security::Tls);
            Incoming {
                server: server.clone(),
                port: args
                    .incoming_port
                    .unwrap_or(args.incoming_protocol.usual_port(security)),
                protocol: args.incoming_protocol,
                security,
            }
        }),
    };
    profiles::apply_to_check(args, flags)
}

fn color_for(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes to stdout; a closed pipe is not an error.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

pub async fn check(args: Box<CheckArgs>) -> Result<u8, Exit> {
    let settings = settings_from(&args, &mut std::io::stdin())?;
    let problems = settings.validate();
    if !problems.is_empty() {
        let mut msg = String::from("The settings need attention:\n");
        for p in &problems {
            msg.push_str(&format!("  - {p}\n"));
        }
        return Err(Exit(EXIT_USAGE, msg.trim_end().to_string()));
    }
    for w in settings.warnings() {
        eprintln!("Note: {}", crate::printable::printable(&w.to_string()));
    }
    let mut log = support_log::SupportLog::open(args.log.as_deref(), args.verbose, &settings)?;
    let started = Instant::now();
    let err_color = color_for(std::io::stderr().is_terminal());
    let paint = Paint(err_color);
    let quiet = args.quiet || args.verbose;
    let outcomes = probe::run(settings.clone(), |ev| {
        if let Some(log) = &mut log {
            log.event(ev);
        }
        if let (false, Event::Finished(o)) = (quiet, ev) {
            // A closed or broken standard error loses the line, nothing more.
            let _ = writeln!(
                std::io::stderr(),
                "{} {:<16} {} ({} ms)",
                paint.status(o.status),
                o.id.as_str(),
                crate::printable::printable(&o.summary),
                o.duration.as_millis()
            );
        }
    })
    .await;
    let diagnosis = diagnose::diagnose(&outcomes, &settings);
    let report = Report {
        settings: &settings,
        checks: &outcomes,
        diagnosis: &diagnosis,
        total_ms: started.elapsed().as_millis() as u64,
    };
    if let Some(log) = &mut log {
        log.finish(&diagnosis, report.total_ms);
    }
    let color = color_for(std::io::stdout().is_terminal());
    emit(&report.render(args.format, color));
    Ok(match diagnosis.verdict {
        Verdict::Ok => EXIT_OK,
        Verdict::Problem => EXIT_PROBLEM,
    })
}

/// `smtp-doctor demo --no-tui`: the demo's run, printed as a report.
pub async fn demo_report() -> Result<u8, Exit> {
    let server = crate::demo::DemoServer::start()
        .await
        .map_err(|e| Exit(EXIT_INTERNAL, format!("cannot start the demo server: {e}")))?;
    let settings = server.settings();
    let started = Instant::now();
    let outcomes = probe::run(settings.clone(), |_| {}).await;
    let diagnosis = diagnose::diagnose(&outcomes, &settings);
    let report = Report {
        settings: &settings,
        checks: &outcomes,
        diagnosis: &diagnosis,
        total_ms: started.elapsed().as_millis() as u64,
    };
    emit(&report.render(Format::Text, color_for(std::io::stdout().is_terminal())));
    Ok(EXIT_OK)
}

/// `explain` reads at most this much of standard input.
const EXPLAIN_MAX: u64 = 1024 * 1024;

/// The text of `explain`'s input. Input cut at [`EXPLAIN_MAX`] may end
/// inside a character: that partial character is dropped, not called
/// invalid.
pub fn input_text(mut bytes: Vec<u8>) -> Result<String, Exit> {
    let cut = bytes.len() as u64 >= EXPLAIN_MAX;
    match std::str::from_utf8(&bytes) {
        Ok(_) => {}
        Err(e) if cut && e.error_len().is_none() => bytes.truncate(e.valid_up_to()),
        Err(e) => {
            return Err(Exit(
                EXIT_USAGE,
                format!(
                    "Standard input is not valid UTF-8 text (byte {}); pass the text as it was shown",
                    e.valid_up_to() + 1
                ),
            ));
        }
    }
    String::from_utf8(bytes).map_err(|e| Exit(EXIT_USAGE, e.to_string()))
}

pub fn explain(args: ExplainArgs) -> Result<u8, Exit> {
    if let Some(path) = &args.log {
        let color = color_for(std::io::stdout().is_terminal());
        let (out, code) = logtable::run(path, args.format, color)?;
        emit(&out);
        return Ok(code);
    }
    let text = if args.text.is_empty() || args.text == ["-"] {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(EXPLAIN_MAX)
            .read_to_end(&mut buf)
            .map_err(|e| Exit(EXIT_USAGE, format!("Cannot read standard input: {e}")))?;
        input_text(buf)?
    } else {
        args.text.join(" ")
    };
    let causes = crate::explain::explain(&text);
    let color = color_for(std::io::stdout().is_terminal());
    let out = match args.format {
        Format::Json => crate::explain::json(&causes),
        Format::Markdown => crate::explain::markdown(&causes),
        Format::Text => crate::explain::text(&causes, &Paint(color)),
    };
    emit(&out);
    Ok(if causes.is_empty() {
        EXIT_PROBLEM
    } else {
        EXIT_OK
    })
}
