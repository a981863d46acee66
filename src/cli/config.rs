//! `smtp-doctor config --client NAME`: the settings to paste into a mail
//! program, from the same flags as `check` (or a saved profile).

use super::{CheckArgs, settings_from};
use crate::clientconf::{self, Client, DEFAULT_PASSWORD_ENV, Export, Options};
use crate::exit::{EXIT_OK, EXIT_USAGE, Exit};
use crate::report::Format;
use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// The program to write settings for.
    #[arg(long, value_name = "NAME", value_parser = parse_client)]
    pub client: Client,
    /// Write the password itself into the settings (from --password-env,
    /// --password-stdin or the profile). Otherwise a placeholder, or a read
    /// from the environment variable named by --password-env (default
    /// SMTP_PASSWORD) where the program can do that.
    #[arg(long)]
    pub include_password: bool,
    #[command(flatten)]
    pub check: CheckArgs,
}

fn parse_client(s: &str) -> Result<Client, String> {
    Client::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Client::ALL.iter().map(|c| c.name()).collect();
        format!("\"{s}\" is not one of {}", names.join(", "))
    })
}

/// `smtp-doctor config`.
pub fn command(mut args: ConfigArgs) -> Result<u8, Exit> {
    let password_env = args
        .check
        .password_env
        .clone()
        .unwrap_or_else(|| DEFAULT_PASSWORD_ENV.into());
    if !args.include_password {
        // The variable only names where the generated code looks; its value
        // is not needed (and not read) here.
        args.check.password_env = None;
        args.check.password_stdin = false;
    }
    // `check` insists on a test recipient; the settings of a mail program
    // have none, so a stand-in satisfies it and is dropped again.
    let given_to = args.check.to.clone();
    if given_to.is_none() {
        args.check.to = Some("nobody@invalid.invalid".into());
    }
    let mut settings = settings_from(&args.check, &mut std::io::stdin())?;
    settings.recipient = given_to.unwrap_or_default();
    if let Some(ca) = &settings.ca_file {
        // The program reading the settings may start in another directory.
        match std::fs::canonicalize(ca) {
            Ok(abs) => settings.ca_file = Some(abs),
            Err(e) => {
                return Err(Exit(EXIT_USAGE, format!("--ca-file {}: {e}", ca.display())));
            }
        }
    }
    let opts = Options {
        include_password: args.include_password,
        password_env,
    };
    let export =
        clientconf::generate(&settings, args.client, &opts).map_err(|e| Exit(EXIT_USAGE, e))?;
    let (out, err) = render(&export, args.check.format);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    if !err.is_empty() {
        eprint!("{err}");
    }
    Ok(EXIT_OK)
}

/// Standard output and standard error. In text, one file goes out as it is
/// (so `> ~/.msmtprc` works) and the notes go to standard error.
fn render(e: &Export, format: Format) -> (String, String) {
    match format {
        Format::Json => (format!("{}\n", e.json()), String::new()),
        Format::Markdown => {
            let mut out = format!("## Settings for {}\n\n", e.client.label());
            for f in &e.files {
                out.push_str(&format!("`{}`\n\n```\n{}```\n\n", f.name, f.content));
            }
            for n in &e.notes {
                out.push_str(&format!("- {n}\n"));
            }
            (out, String::new())
        }
        Format::Text => {
            let mut out = String::new();
            let several = e.files.len() > 1;
            for f in &e.files {
                if several {
                    out.push_str(&format!("# ==> {} <==\n", f.name));
                }
                out.push_str(&f.content);
                if several {
                    out.push('\n');
                }
            }
            let err: String = e.notes.iter().map(|n| format!("note: {n}\n")).collect();
            (out, err)
        }
    }
}
