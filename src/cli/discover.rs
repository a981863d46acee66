//! `smtp-doctor discover --email ADDRESS [--password-env VAR]`: the settings
//! that work for an address, ranked, each with where it came from; with a
//! password, exactly one login on the best candidate.

use super::{EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Exit, format_parser};
use crate::catalog::catalog;
use crate::printable::printable;
use crate::probe::discover::{self, Candidate, Discovery, LoginResult, Options};
use crate::report::Format;
use crate::settings::{Password, Settings};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DiscoverArgs {
    /// The email address to find settings for.
    #[arg(long, value_name = "ADDRESS")]
    pub email: String,
    /// Read the password from this environment variable: then exactly one
    /// login is tried, on the best candidate.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// DNS server to use instead of the system's: IP or IP:PORT.
    #[arg(long, value_name = "IP[:PORT]", env = "SMTP_DOCTOR_DNS")]
    pub dns: Option<String>,
    /// Extra CA certificates (PEM) to trust beside the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// EHLO name (default: this machine's address literal).
    #[arg(long)]
    pub helo: Option<String>,
    /// Seconds each network step may take.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
    /// Report format on standard output.
    #[arg(long, default_value = "text", value_parser = format_parser())]
    pub format: Format,
    /// No progress line on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `smtp-doctor discover`.
pub async fn command(args: DiscoverArgs) -> Result<u8, Exit> {
    if let Err(e) = discover::split_address(&args.email) {
        return Err(Exit(
            EXIT_USAGE,
            format!("--email {}: {e}", printable(&args.email)),
        ));
    }
    let password = match &args.password_env {
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(Password::new(v)),
            _ => {
                return Err(Exit(
                    EXIT_USAGE,
                    format!("The environment variable {var} is not set (--password-env)"),
                ));
            }
        },
        None => None,
    };
    let settings = Settings {
        account: args.email.trim().to_string(),
        dns: args.dns.clone(),
        ca_file: args.ca_file.clone(),
        helo: args.helo.clone().unwrap_or_default(),
        timeout_secs: args.timeout,
        ..Settings::default()
    };
    if let Some(Err(e)) = settings.dns_addr() {
        return Err(Exit(EXIT_USAGE, format!("--dns: {e}")));
    }
    if !args.quiet {
        eprintln!(
            "Looking for the settings of {} (database, SRV, autoconfig, MX, usual ports)…",
            printable(&settings.account)
        );
    }
    let d = discover::discover(&settings, &Options::default()).await;
    // The one login of the run, on the best candidate only.
    let login = match (&password, d.best()) {
        (Some(pw), Some(best)) => Some(discover::login_once(&settings, best, pw, &d).await.0),
        (Some(_), None) => Some(LoginResult {
            attempted: false,
            ok: false,
            host: String::new(),
            port: 0,
            mechanism: None,
            reply: None,
            note: match &d.oauth_only {
                Some(o) => format!(
                    "{} accepts only OAuth2 on SMTP: no password was tried",
                    o.provider
                ),
                None => "no working candidate to log in to: no password was tried".into(),
            },
        }),
        _ => None,
    };
    let text = match args.format {
        Format::Json => json_report(&d, login.as_ref()),
        Format::Markdown => markdown_report(&d, login.as_ref()),
        Format::Text => text_report(&d, login.as_ref()),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    let good = d.best().is_some() && d.oauth_only.is_none() && login.as_ref().is_none_or(|l| l.ok);
    Ok(if good { EXIT_OK } else { EXIT_PROBLEM })
}

fn p(s: &str) -> String {
    printable(s).into_owned()
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn why_not(c: &Candidate) -> String {
    if c.works {
        return String::new();
    }
    if let Some(n) = &c.probe.note {
        return p(n);
    }
    if c.probe.cert_ok == Some(false) {
        return format!(
            "certificate not valid for this name ({})",
            p(c.probe.cert_problem.as_deref().unwrap_or("untrusted"))
        );
    }
    if c.probe.auth.is_empty() {
        return "no login (AUTH) offered".into();
    }
    p(&c.probe.state)
}

fn oauth_line(d: &Discovery) -> Option<String> {
    let o = d.oauth_only.as_ref()?;
    let title = catalog()
        .cause("oauth-required")
        .map(|c| c.title.clone())
        .unwrap_or_default();
    Some(format!(
        "oauth-required: {} — {} ({}). A password login cannot work here, whatever the password.",
        p(&title),
        p(&o.provider),
        p(&o.via)
    ))
}

fn login_line(l: &LoginResult) -> String {
    if !l.attempted {
        return format!("Login: not tried — {}", p(&l.note));
    }
    format!(
        "Login: {} on {}:{} with {} — {}{}",
        if l.ok { "WORKED" } else { "FAILED" },
        p(&l.host),
        l.port,
        l.mechanism.as_deref().unwrap_or("?"),
        p(&l.note),
        l.reply
            .as_deref()
            .map(|r| format!(" ({})", p(r)))
            .unwrap_or_default()
    )
}

fn text_report(d: &Discovery, login: Option<&LoginResult>) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Settings for {} (domain {})",
        p(&d.email),
        p(&d.domain)
    ));
    if let Some(pr) = &d.provider {
        s.push_str(&format!(", provider {}", p(pr)));
    }
    s.push_str("\n\n");
    if let Some(l) = oauth_line(d) {
        s.push_str(&format!("{l}\n\n"));
    }
    match d.best() {
        Some(b) => s.push_str(&format!(
            "Use: server {}, port {}, encryption {}, login {} (from {})\n\n",
            p(&b.setting.host),
            b.setting.port,
            b.setting.security.label(),
            p(&b.setting.username),
            p(&b.source_labels())
        )),
        None => s.push_str(
            "No setting found that greets with a valid certificate and offers login.\n\n",
        ),
    }
    s.push_str("  # server                          port  encryption login as                  works  from / why not\n");
    for (i, c) in d.candidates.iter().enumerate() {
        s.push_str(&format!(
            "  {:<1} {:<32} {:<5} {:<10} {:<25} {:<6} {}{}\n",
            i + 1,
            p(&c.setting.host),
            c.setting.port,
            c.setting.security.label(),
            p(&c.setting.username),
            yes_no(c.works),
            p(&c.source_labels()),
            if c.works {
                format!("; AUTH {}", p(&c.probe.auth.join(" ")))
            } else {
                format!("; {}", why_not(c))
            }
        ));
    }
    if d.not_probed > 0 {
        s.push_str(&format!(
            "  ({} more not tried: limit of {} candidates)\n",
            d.not_probed,
            discover::MAX_CANDIDATES
        ));
    }
    if !d.incoming.is_empty() {
        s.push_str("\nIncoming mail (named by the sources, not tried):\n");
        for i in &d.incoming {
            s.push_str(&format!(
                "  {} {}:{} {}, login {}\n",
                p(&i.kind).to_uppercase(),
                p(&i.host),
                i.port,
                i.security.label(),
                p(&i.username)
            ));
        }
    }
    s.push_str("\nSources:\n");
    for r in &d.sources {
        s.push_str(&format!(
            "  {:<22} {:<8} {}\n",
            r.source.label(),
            p(&r.result),
            p(&r.detail)
        ));
    }
    for w in &d.warnings {
        s.push_str(&format!("Warning: {}\n", p(w)));
    }
    if let Some(l) = login {
        s.push_str(&format!("\n{}\n", login_line(l)));
    }
    s
}

fn markdown_report(d: &Discovery, login: Option<&LoginResult>) -> String {
    let cell = |t: &str| p(t).replace('|', "\\|");
    let mut s = format!("# Settings for {}\n\n", cell(&d.email));
    if let Some(l) = oauth_line(d) {
        s.push_str(&format!("**{}**\n\n", cell(&l)));
    }
    s.push_str("| # | server | port | encryption | login as | works | from | notes |\n|---|---|---|---|---|---|---|---|\n");
    for (i, c) in d.candidates.iter().enumerate() {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            i + 1,
            cell(&c.setting.host),
            c.setting.port,
            c.setting.security.label(),
            cell(&c.setting.username),
            yes_no(c.works),
            cell(&c.source_labels()),
            if c.works {
                cell(&format!("AUTH {}", c.probe.auth.join(" ")))
            } else {
                cell(&why_not(c))
            }
        ));
    }
    s.push_str("\n## Sources\n\n");
    for r in &d.sources {
        s.push_str(&format!(
            "- {} ({}): {}\n",
            r.source.label(),
            cell(&r.result),
            cell(&r.detail)
        ));
    }
    for w in &d.warnings {
        s.push_str(&format!("- Warning: {}\n", cell(w)));
    }
    if let Some(l) = login {
        s.push_str(&format!("\n{}\n", cell(&login_line(l))));
    }
    s
}

fn json_report(d: &Discovery, login: Option<&LoginResult>) -> String {
    let v = json!({
        "schema": 1,
        "email": d.email,
        "domain": d.domain,
        "provider": d.provider,
        "cause": d.oauth_only.as_ref().map(|_| "oauth-required"),
        "oauth_only": d.oauth_only,
        "best": d.best(),
        "candidates": d.candidates,
        "incoming": d.incoming,
        "sources": d.sources,
        "warnings": d.warnings,
        "not_probed": d.not_probed,
        "login": login,
    });
    let mut t = serde_json::to_string_pretty(&v).unwrap_or_default();
    t.push('\n');
    t
}
