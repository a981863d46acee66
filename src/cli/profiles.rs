//! `smtp-doctor profiles list|show|delete`, and the profile part of
//! `check --profile NAME`: the front end over the profile store.

use crate::exit::{EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Exit};
use crate::printable::printable as pr;
use crate::profile::{Profile, ProfileError, Store};
use crate::settings::{Password, Settings};
use clap::{Args, Subcommand};
use std::io::{self, Write};
use std::path::Path;

#[derive(Args, Debug)]
pub struct ProfilesArgs {
    #[command(subcommand)]
    pub action: Option<ProfilesAction>,
}

#[derive(Subcommand, Debug)]
pub enum ProfilesAction {
    /// List the saved profiles (the default).
    List,
    /// Show one profile's settings (never its password).
    Show { name: String },
    /// Delete one profile.
    Delete { name: String },
}

fn exit_for(e: &ProfileError) -> u8 {
    match e {
        ProfileError::Io { .. } | ProfileError::NoConfigDir => EXIT_INTERNAL,
        _ => EXIT_USAGE,
    }
}

fn fail(e: ProfileError) -> Exit {
    Exit(exit_for(&e), e.to_string())
}

/// `smtp-doctor profiles list|show|delete`.
pub fn command(args: ProfilesArgs) -> Result<u8, Exit> {
    let store = Store::open_default().map_err(fail)?;
    let mut out = String::new();
    match args.action.unwrap_or(ProfilesAction::List) {
        ProfilesAction::List => {
            let list = store.list().map_err(fail)?;
            if list.is_empty() {
                out.push_str(&format!(
                    "No profiles yet in {}. Run smtp-doctor without arguments and save one (key s).\n",
                    store.dir().display()
                ));
            }
            for e in &list {
                match &e.profile {
                    Ok(p) => out.push_str(&format!("{}\n", one_line(p))),
                    Err(err) => out.push_str(&format!(
                        "{}  (damaged) {}\n",
                        pr(&e.name),
                        pr(&err.to_string())
                    )),
                }
            }
        }
        ProfilesAction::Show { name } => {
            let p = store.load(&name).map_err(fail)?;
            out.push_str(&show(&p, &store.path_of(&name)));
        }
        ProfilesAction::Delete { name } => {
            let path = store.delete(&name).map_err(fail)?;
            out.push_str(&format!(
                "Deleted profile \"{name}\" ({}).\n",
                path.display()
            ));
        }
    }
    // Names, servers and errors come from files anyone may have edited:
    // nothing in them reaches the terminal as a control character.
    let out = crate::printable::printable_lines(&out);
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    Ok(EXIT_OK)
}

/// `name  server:port (security)  account`.
pub fn one_line(p: &Profile) -> String {
    let s = &p.settings;
    let mut line = format!(
        "{}  {}:{} ({})",
        pr(&p.name),
        pr(s.server_name()),
        s.port,
        s.security.label()
    );
    if !s.account.is_empty() {
        line.push_str(&format!("  {}", pr(&s.account)));
    }
    if p.save_password {
        line.push_str("  [password saved]");
    }
    line
}

/// Every setting of a profile, one per line; the password is never shown.
pub fn show(p: &Profile, path: &Path) -> String {
    let s = &p.settings;
    let or_default = |v: &str, d: &str| {
        if v.trim().is_empty() {
            d.to_string()
        } else {
            v.to_string()
        }
    };
    let rows: Vec<(&str, String)> = vec![
        ("Profile", p.name.clone()),
        ("File", path.display().to_string()),
        ("Email address", or_default(&s.account, "(none)")),
        ("Outgoing server", s.server_name().to_string()),
        ("Port", s.port.to_string()),
        ("Encryption", s.security.label().to_string()),
        (
            "Authentication",
            if s.auth {
                format!("on, login {}", or_default(s.effective_login(), "(none)"))
            } else {
                "off".into()
            },
        ),
        (
            "Password",
            if p.save_password {
                "saved in the profile file (not shown)".into()
            } else {
                "not saved (asked for at each run)".into()
            },
        ),
        ("Sender", or_default(s.effective_sender(), "(none)")),
        ("Test recipient", or_default(&s.recipient, "(none)")),
        ("EHLO name", or_default(&s.helo, "(automatic)")),
        ("Timeout", format!("{} s", s.timeout_secs)),
        (
            "DNS server",
            s.dns.clone().unwrap_or_else(|| "(system)".into()),
        ),
        (
            "Extra CA file",
            s.ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into()),
        ),
    ];
    rows.iter()
        .map(|(k, v)| format!("{k:<16} {}\n", pr(v)))
        .collect()
}

/// The settings of a saved profile, for `check --profile NAME`.
pub fn settings_for_check(name: &str) -> Result<Settings, Exit> {
    let store = Store::open_default().map_err(fail)?;
    store.load(name).map(|p| p.settings).map_err(fail)
}

/// The settings of `check --profile NAME`: the profile's values, with
/// every flag given on the command line taking precedence. `flags` are the
/// settings built from the flags alone; `args` tells which were given.
/// `--server` and `--to` must come from one or the other.
pub fn apply_to_check(args: &super::CheckArgs, flags: Settings) -> Result<Settings, Exit> {
    let s = match &args.profile {
        None => flags.clone(),
        Some(name) => merge(settings_for_check(name)?, &flags, args),
    };
    let from_profile = if args.profile.is_some() {
        " (or a --profile that sets it)"
    } else {
        ""
    };
    if s.server.trim().is_empty() {
        return Err(Exit(
            EXIT_USAGE,
            format!(
                "--server is required{from_profile}: the outgoing (SMTP) server, e.g. --server smtp.example.com"
            ),
        ));
    }
    if s.recipient.trim().is_empty() {
        return Err(Exit(
            EXIT_USAGE,
            format!(
                "--to is required{from_profile}: a test recipient at another domain (nothing is sent to it)"
            ),
        ));
    }
    Ok(s)
}

fn merge(p: Settings, f: &Settings, args: &super::CheckArgs) -> Settings {
    let pick = |given: bool, flag: &String, prof: &String| {
        if given { flag.clone() } else { prof.clone() }
    };
    let security = if args.security.is_some() || args.port.is_some() {
        f.security
    } else {
        p.security
    };
    let port = if args.port.is_some() || security != p.security {
        f.port
    } else {
        p.port
    };
    let password_given = args.password_env.is_some() || args.password_stdin;
    Settings {
        account: pick(args.account.is_some(), &f.account, &p.account),
        login: pick(args.user.is_some(), &f.login, &p.login),
        // A saved password belongs to the saved server: it is not sent to
        // another one given with --server.
        password: if password_given {
            f.password.clone()
        } else if args.server.as_deref().is_some_and(|srv| {
            !srv.trim()
                .trim_end_matches('.')
                .eq_ignore_ascii_case(p.server_name())
        }) {
            Password::default()
        } else {
            p.password.clone()
        },
        server: pick(args.server.is_some(), &f.server, &p.server),
        port,
        security,
        auth: if args.no_auth { false } else { p.auth },
        // Consent to a clear-text login is given per run, never by a profile.
        allow_plaintext_auth: args.allow_plaintext_auth,
        sender: pick(args.from.is_some(), &f.sender, &p.sender),
        recipient: pick(args.to.is_some(), &f.recipient, &p.recipient),
        helo: pick(args.helo.is_some(), &f.helo, &p.helo),
        // `--timeout` has a default, so a value equal to it counts as not given.
        timeout_secs: if f.timeout_secs != Settings::default().timeout_secs {
            f.timeout_secs
        } else {
            p.timeout_secs
        },
        dns: f.dns.clone().or(p.dns),
        ca_file: f.ca_file.clone().or(p.ca_file),
        public_ip: f.public_ip.or(p.public_ip),
        internal_network: f.internal_network || p.internal_network,
        dnsbl: f.dnsbl || p.dnsbl,
        incoming: f.incoming.clone().or(p.incoming),
        ..f.clone()
    }
}
