//! The settings of one check: what a mail client's account dialog asks for.
//!
//! One plain struct that the wizard fills, the command-line flags fill and a
//! profile file stores. [`Settings::validate`] returns every problem at once,
//! each tied to its field, in words a novice understands.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// How the connection to the outgoing server is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS from the first byte; mail clients call it "SSL/TLS".
    Tls,
    /// Plain connection upgraded with the STARTTLS command.
    #[default]
    Starttls,
    /// No encryption at all.
    None,
}

impl Security {
    pub const ALL: [Security; 3] = [Security::Tls, Security::Starttls, Security::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::None => "none",
        }
    }

    /// The name mail clients show for this choice.
    pub fn label(self) -> &'static str {
        match self {
            Security::Tls => "SSL/TLS",
            Security::Starttls => "STARTTLS",
            Security::None => "None",
        }
    }

    pub fn parse(s: &str) -> Option<Security> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" | "ssl" | "ssl/tls" | "implicit" | "smtps" => Some(Security::Tls),
            "starttls" | "start-tls" => Some(Security::Starttls),
            "none" | "plain" | "off" => Some(Security::None),
            _ => None,
        }
    }

    /// The port that normally goes with this choice.
    pub fn usual_port(self) -> u16 {
        match self {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::None => 25,
        }
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password that never prints itself. `Debug` and `Display` show
/// `[redacted]`; only [`Password::expose`] gives the text, and it is not
/// serialized with the settings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Password {
        Password(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The fields of [`Settings`], for tying a problem to the field it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Account,
    Login,
    Password,
    Server,
    Port,
    Security,
    Sender,
    Recipient,
    Helo,
    Timeout,
    Dns,
    CaFile,
    PublicIp,
    Incoming,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Account => "Email address",
            Field::Login => "Login",
            Field::Password => "Password",
            Field::Server => "Outgoing server",
            Field::Port => "Port",
            Field::Security => "Encryption",
            Field::Sender => "Sender",
            Field::Recipient => "Test recipient",
            Field::Helo => "EHLO name",
            Field::Timeout => "Timeout",
            Field::Dns => "DNS server",
            Field::CaFile => "Extra CA file",
            Field::PublicIp => "Public IP",
            Field::Incoming => "Incoming server",
        }
    }
}

/// One validation problem, tied to its field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: Field,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.label(), self.message)
    }
}

/// The largest CA file accepted (a system bundle is about 200 KiB).
pub const MAX_CA_FILE: u64 = 16 * 1024 * 1024;

/// What is wrong with a CA file path, if anything: missing, not a regular
/// file (a FIFO would hang the read), or too large to be a CA bundle.
fn ca_file_problem(p: &std::path::Path) -> Option<String> {
    match std::fs::metadata(p) {
        Err(_) => Some(format!("No such file: {}", p.display())),
        Ok(m) if !m.is_file() => Some(format!(
            "{} is {}, not a file of certificates",
            p.display(),
            crate::fsread::kind_of(m.file_type())
        )),
        Ok(m) if m.len() > MAX_CA_FILE => Some(format!(
            "{} is larger than {} MiB: not a file of certificates",
            p.display(),
            MAX_CA_FILE / (1024 * 1024)
        )),
        Ok(_) => None,
    }
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything one check needs. Serializes without the password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The email account, e.g. `alice@example.com`.
    pub account: String,
    /// The login for AUTH; empty means "same as the account".
    pub login: String,
    #[serde(skip)]
    pub password: Password,
    /// An OAuth 2 access token: when set, the login is XOAUTH2 (or
    /// OAUTHBEARER) with it instead of the password. Never serialized.
    #[serde(skip)]
    pub oauth_token: Password,
    /// The outgoing (SMTP) server name or IP address.
    pub server: String,
    pub port: u16,
    pub security: Security,
    /// "My outgoing server requires authentication".
    pub auth: bool,
    /// Allows AUTH over an unencrypted connection (only with security none).
    pub allow_plaintext_auth: bool,
    /// Sends the password even when the server's certificate is not
    /// trusted (for testing a server whose certificate is known to be bad).
    pub insecure_login: bool,
    /// MAIL FROM; empty means "same as the account".
    pub sender: String,
    /// An address at an external domain, for the relay test (RCPT TO).
    pub recipient: String,
    /// The EHLO name; empty means the client's address literal.
    pub helo: String,
    /// Per-step network timeout in seconds.
    pub timeout_secs: u64,
    /// A DNS server to ask instead of the system's, `IP` or `IP:PORT`.
    pub dns: Option<String>,
    /// Extra CA certificates (PEM) trusted beside the system roots.
    pub ca_file: Option<PathBuf>,
    /// The public IP, when the user knows it better than we can find out.
    pub public_ip: Option<IpAddr>,
    /// A DNS server to ask the public-IP echo names instead of the echo
    /// services' own servers (`IP` or `IP:PORT`).
    pub echo_dns: Option<String>,
    /// An internal network: private and loopback addresses are expected.
    pub internal_network: bool,
    /// Also look the public IP up in DNS blocklists (off by default).
    pub dnsbl: bool,
    /// Send one real test message (only when the user asks).
    pub send_test_message: bool,
    /// The incoming (IMAP/POP3) server, for telling a wrong password from
    /// SMTP AUTH switched off.
    pub incoming: Option<Incoming>,
}

/// Incoming mail protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IncomingProtocol {
    #[default]
    Imap,
    Pop3,
}

impl IncomingProtocol {
    pub fn parse(s: &str) -> Option<IncomingProtocol> {
        match s.trim().to_ascii_lowercase().as_str() {
            "imap" | "imaps" => Some(IncomingProtocol::Imap),
            "pop" | "pop3" | "pop3s" => Some(IncomingProtocol::Pop3),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IncomingProtocol::Imap => "IMAP",
            IncomingProtocol::Pop3 => "POP3",
        }
    }

    /// The usual port: 993/143 for IMAP, 995/110 for POP3.
    pub fn usual_port(self, security: Security) -> u16 {
        match (self, security) {
            (IncomingProtocol::Imap, Security::Tls) => 993,
            (IncomingProtocol::Imap, _) => 143,
            (IncomingProtocol::Pop3, Security::Tls) => 995,
            (IncomingProtocol::Pop3, _) => 110,
        }
    }
}

/// The incoming server of the same account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Incoming {
    pub server: String,
    pub port: u16,
    pub protocol: IncomingProtocol,
    pub security: Security,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            account: String::new(),
            login: String::new(),
            password: Password::default(),
            oauth_token: Password::default(),
            server: String::new(),
            port: 587,
            security: Security::Starttls,
            auth: true,
            allow_plaintext_auth: false,
            insecure_login: false,
            sender: String::new(),
            recipient: String::new(),
            helo: String::new(),
            timeout_secs: DEFAULT_TIMEOUT.as_secs(),
            dns: None,
            ca_file: None,
            public_ip: None,
            echo_dns: None,
            internal_network: false,
            dnsbl: false,
            send_test_message: false,
            incoming: None,
        }
    }
}

impl Settings {
    /// The login used for AUTH (the account when no login was given).
    pub fn effective_login(&self) -> &str {
        if self.login.trim().is_empty() {
            self.account.trim()
        } else {
            self.login.trim()
        }
    }

    /// The MAIL FROM address (the account when no sender was given).
    pub fn effective_sender(&self) -> &str {
        if self.sender.trim().is_empty() {
            self.account.trim()
        } else {
            self.sender.trim()
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// The DNS server override as a socket address (port 53 when none given).
    pub fn dns_addr(&self) -> Option<Result<SocketAddr, String>> {
        self.dns.as_deref().map(parse_dns_server)
    }

    /// The server name without surrounding space or a trailing dot.
    pub fn server_name(&self) -> &str {
        self.server.trim().trim_end_matches('.')
    }

    /// Every problem at once, each tied to its field.
    /// Settings that are valid but unusual: a mail program can have them,
    /// so a run reproduces them as given and the diagnosis says what they
    /// lead to; the front ends show these before the run.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |field, message: &str| {
            out.push(Problem {
                field,
                message: message.to_string(),
            })
        };
        match (self.port, self.security) {
            (465, Security::Starttls) => push(
                Field::Security,
                "Port 465 usually expects SSL/TLS from the first byte, not STARTTLS; the check runs as given and shows what happens.",
            ),
            (587, Security::Tls) => push(
                Field::Security,
                "Port 587 usually uses STARTTLS, not SSL/TLS from the first byte; the check runs as given and shows what happens.",
            ),
            _ => {}
        }
        if self.auth && self.security == Security::None && !self.allow_plaintext_auth {
            push(
                Field::Security,
                "No encryption: the password is not sent (it would cross the network readable by anyone) unless you allow it for this run; the check shows what the server asks for.",
            );
        }
        out
    }

    /// Problems that make a check impossible (a missing server, a malformed
    /// address), every one at once.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |field, message: String| out.push(Problem { field, message });

        let account = self.account.trim();
        if !account.is_empty()
            && let Err(e) = check_address(account)
        {
            push(Field::Account, e);
        }
        if self.server_name().is_empty() {
            push(
                Field::Server,
                "Enter the outgoing (SMTP) server, for example smtp.example.com.".into(),
            );
        } else if let Err(e) = check_host(self.server_name()) {
            push(Field::Server, e);
        }
        if self.port == 0 {
            push(
                Field::Port,
                "Port 0 is not a real port. Outgoing mail uses 587, 465 or 25.".into(),
            );
        }
        if self.auth {
            if self.effective_login().is_empty() {
                push(
                    Field::Login,
                    "Enter the login (usually your full email address), or turn off \"requires authentication\"."
                        .into(),
                );
            }
            if self.password.is_empty() && self.oauth_token.is_empty() {
                push(
                    Field::Password,
                    "Enter the password, or turn off \"requires authentication\".".into(),
                );
            }
        }
        let sender = self.effective_sender();
        if sender.is_empty() {
            push(
                Field::Sender,
                "Enter the sender address (or your email address above).".into(),
            );
        } else if let Err(e) = check_address(sender) {
            push(Field::Sender, e);
        }
        let rcpt = self.recipient.trim();
        if rcpt.is_empty() {
            push(
                Field::Recipient,
                "Enter a test recipient at another domain, for example a Gmail address. Nothing is sent to it."
                    .into(),
            );
        } else if let Err(e) = check_address(rcpt) {
            push(Field::Recipient, e);
        }
        if !self.helo.trim().is_empty() && !valid_helo(self.helo.trim()) {
            push(
                Field::Helo,
                "The EHLO name must be a host name (mail.example.com) or an address in brackets ([192.0.2.1]).".into(),
            );
        }
        if self.timeout_secs == 0 || self.timeout_secs > 300 {
            push(
                Field::Timeout,
                "Choose a timeout from 1 to 300 seconds.".into(),
            );
        }
        if let Some(Err(e)) = self.dns_addr() {
            push(Field::Dns, e);
        }
        if let Some(Err(e)) = self.echo_dns.as_deref().map(parse_dns_server) {
            push(Field::Dns, e);
        }
        if let Some(inc) = &self.incoming {
            if let Err(e) = check_host(&inc.server) {
                push(Field::Incoming, e);
            }
            if inc.port == 0 {
                push(
                    Field::Incoming,
                    "Enter the incoming server's port (993 for IMAP over SSL/TLS).".into(),
                );
            }
        }
        if let Some(p) = &self.ca_file
            && let Some(problem) = ca_file_problem(p)
        {
            push(Field::CaFile, problem);
        }
        out
    }
}

/// Checks an email address the way a novice needs to hear about it.
pub fn check_address(addr: &str) -> Result<(), String> {
    let addr = addr.trim();
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Err(format!(
            "\"{addr}\" is not an email address: it needs an @, like name@example.com."
        ));
    };
    if local.is_empty() {
        return Err(format!("\"{addr}\" has nothing before the @."));
    }
    if addr
        .chars()
        .any(|c| c.is_whitespace() || c == '<' || c == '>')
    {
        return Err(format!("\"{addr}\" contains spaces or angle brackets."));
    }
    if domain.is_empty() {
        return Err(format!("\"{addr}\" has nothing after the @."));
    }
    check_host(domain).map_err(|_| format!("\"{domain}\" after the @ is not a valid domain."))?;
    if !domain.contains('.') && !domain.starts_with('[') {
        return Err(format!(
            "\"{domain}\" has no dot: a mail domain looks like example.com."
        ));
    }
    addr.parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|e| format!("\"{addr}\" is not a valid email address ({e})."))
}

/// A host name (LDH labels) or an IP address.
pub fn check_host(host: &str) -> Result<(), String> {
    let host = host.trim().trim_end_matches('.');
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if host.contains("://") || host.contains('/') {
        return Err(format!(
            "\"{host}\" looks like a web address. Enter only the server name, like smtp.example.com."
        ));
    }
    if host.contains(':') {
        return Err(format!(
            "\"{host}\" contains a colon. Enter the port in the Port field, not after the server name."
        ));
    }
    if host.len() > 253 {
        return Err("The server name is longer than DNS allows (253 characters).".into());
    }
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii());
        if !ok {
            return Err(format!(
                "\"{host}\" is not a valid server name (letters, digits, dots and hyphens only)."
            ));
        }
    }
    Ok(())
}

fn valid_helo(name: &str) -> bool {
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        let inner = inner.strip_prefix("IPv6:").unwrap_or(inner);
        return inner.parse::<IpAddr>().is_ok();
    }
    check_host(name).is_ok() && name.parse::<IpAddr>().is_err()
}

/// Parses `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address.
pub fn parse_dns_server(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "\"{s}\" is not a DNS server address: use an IP address, optionally with :PORT (e.g. 127.0.0.1:5353)."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Settings {
        Settings {
            account: "alice@example.com".into(),
            password: Password::new("pw"),
            server: "smtp.example.com".into(),
            recipient: "bob@example.org".into(),
            ..Settings::default()
        }
    }

    fn fields(s: &Settings) -> Vec<Field> {
        s.validate().into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn good_settings_have_no_problems() {
        assert_eq!(good().validate(), vec![]);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let s = Settings {
            account: "alice".into(),
            server: String::new(),
            port: 0,
            recipient: "not an address".into(),
            password: Password::default(),
            ..good()
        };
        let f = fields(&s);
        for want in [
            Field::Account,
            Field::Server,
            Field::Port,
            Field::Password,
            Field::Recipient,
            Field::Sender,
        ] {
            assert!(f.contains(&want), "{want:?} missing from {f:?}");
        }
    }

    #[test]
    fn a_port_and_security_mismatch_runs_with_a_warning() {
        let s = Settings {
            port: 465,
            security: Security::Starttls,
            ..good()
        };
        assert_eq!(fields(&s), vec![], "reproduced as given, not refused");
        let w = s.warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("SSL/TLS"), "{}", w[0].message);
        let s = Settings {
            port: 587,
            security: Security::Tls,
            ..good()
        };
        assert_eq!(fields(&s), vec![]);
        assert_eq!(s.warnings()[0].field, Field::Security);
        assert!(good().warnings().is_empty());
    }

    #[test]
    fn a_login_without_encryption_runs_and_warns_until_allowed() {
        let mut s = Settings {
            security: Security::None,
            port: 25,
            ..good()
        };
        assert_eq!(fields(&s), vec![]);
        assert_eq!(s.warnings().len(), 1);
        s.allow_plaintext_auth = true;
        assert!(s.warnings().is_empty());
        s.auth = false;
        s.allow_plaintext_auth = false;
        s.password = Password::default();
        assert!(s.warnings().is_empty());
    }

    #[test]
    fn server_names_are_checked_kindly() {
        assert!(check_host("smtp.example.com").is_ok());
        assert!(check_host("192.0.2.1").is_ok());
        assert!(check_host("::1").is_ok());
        assert!(
            check_host("https://mail.example.com")
                .unwrap_err()
                .contains("web address")
        );
        assert!(
            check_host("smtp.example.com:587")
                .unwrap_err()
                .contains("Port field")
        );
        assert!(check_host("bad..name").is_err());
        assert!(check_host("-bad.example").is_err());
    }

    #[test]
    fn password_never_prints_and_never_serializes() {
        let s = Settings {
            password: Password::new("hunter2-secret"),
            ..good()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&s).unwrap().contains("hunter2"));
    }

    #[test]
    fn defaults_follow_the_account() {
        let s = good();
        assert_eq!(s.effective_login(), "alice@example.com");
        assert_eq!(s.effective_sender(), "alice@example.com");
    }

    #[test]
    fn dns_server_forms() {
        assert_eq!(parse_dns_server("127.0.0.2:5353").unwrap().port(), 5353);
        assert_eq!(parse_dns_server("127.0.0.1").unwrap().port(), 53);
        assert_eq!(parse_dns_server("::1").unwrap().port(), 53);
        assert_eq!(parse_dns_server("[::1]:5353").unwrap().port(), 5353);
        assert!(parse_dns_server("dns.example").is_err());
    }
}
