//! The contract between the engine and its front ends: check ids, statuses,
//! outcomes and the events a run emits. Ids are stable: scripts and reports
//! depend on them.

use crate::reply::Reply;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

/// Every check the engine knows, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CheckId {
    #[serde(rename = "dns.server")]
    DnsServer,
    #[serde(rename = "net.port")]
    NetPort,
    #[serde(rename = "net.ports")]
    NetPorts,
    #[serde(rename = "smtp.greeting")]
    SmtpGreeting,
    #[serde(rename = "smtp.ehlo")]
    SmtpEhlo,
    #[serde(rename = "tls")]
    Tls,
    #[serde(rename = "auth")]
    Auth,
    #[serde(rename = "relay")]
    Relay,
    #[serde(rename = "relay.anonymous")]
    RelayAnonymous,
    #[serde(rename = "send")]
    Send,
    #[serde(rename = "incoming.login")]
    IncomingLogin,
    #[serde(rename = "net.public_ip")]
    NetPublicIp,
    #[serde(rename = "net.ptr")]
    NetPtr,
    #[serde(rename = "net.dnsbl")]
    NetDnsbl,
    #[serde(rename = "sender.spf")]
    SenderSpf,
    #[serde(rename = "sender.dmarc")]
    SenderDmarc,
    #[serde(rename = "recipient.mx")]
    RecipientMx,
    #[serde(rename = "discover")]
    Discover,
}

/// Where a check sits on the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Server,
    Connection,
    Encryption,
    Login,
    Relay,
    SenderDomain,
    RecipientDomain,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::Server,
        Group::Connection,
        Group::Encryption,
        Group::Login,
        Group::Relay,
        Group::SenderDomain,
        Group::RecipientDomain,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Group::Server => "Server",
            Group::Connection => "Connection",
            Group::Encryption => "Encryption",
            Group::Login => "Login",
            Group::Relay => "Relay",
            Group::SenderDomain => "Sender domain",
            Group::RecipientDomain => "Recipient domain",
        }
    }
}

impl CheckId {
    pub const ALL: [CheckId; 18] = [
        CheckId::DnsServer,
        CheckId::NetPort,
        CheckId::NetPorts,
        CheckId::SmtpGreeting,
        CheckId::SmtpEhlo,
        CheckId::Tls,
        CheckId::Auth,
        CheckId::Relay,
        CheckId::RelayAnonymous,
        CheckId::Send,
        CheckId::IncomingLogin,
        CheckId::NetPublicIp,
        CheckId::NetPtr,
        CheckId::NetDnsbl,
        CheckId::SenderSpf,
        CheckId::SenderDmarc,
        CheckId::RecipientMx,
        CheckId::Discover,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::DnsServer => "dns.server",
            CheckId::NetPort => "net.port",
            CheckId::NetPorts => "net.ports",
            CheckId::SmtpGreeting => "smtp.greeting",
            CheckId::SmtpEhlo => "smtp.ehlo",
            CheckId::Tls => "tls",
            CheckId::Auth => "auth",
            CheckId::Relay => "relay",
            CheckId::RelayAnonymous => "relay.anonymous",
            CheckId::Send => "send",
            CheckId::IncomingLogin => "incoming.login",
            CheckId::NetPublicIp => "net.public_ip",
            CheckId::NetPtr => "net.ptr",
            CheckId::NetDnsbl => "net.dnsbl",
            CheckId::SenderSpf => "sender.spf",
            CheckId::SenderDmarc => "sender.dmarc",
            CheckId::RecipientMx => "recipient.mx",
            CheckId::Discover => "discover",
        }
    }

    pub fn parse(s: &str) -> Option<CheckId> {
        CheckId::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// A title a novice understands.
    pub fn title(self) -> &'static str {
        match self {
            CheckId::DnsServer => "Server name resolves",
            CheckId::NetPort => "Port is reachable",
            CheckId::NetPorts => "Other mail ports",
            CheckId::SmtpGreeting => "Server greets",
            CheckId::SmtpEhlo => "Server capabilities (EHLO)",
            CheckId::Tls => "Encryption and certificate",
            CheckId::Auth => "Login (AUTH)",
            CheckId::Relay => "Relay to the test recipient",
            CheckId::RelayAnonymous => "Relay without login",
            CheckId::Send => "Real test message",
            CheckId::IncomingLogin => "Incoming mail login",
            CheckId::NetPublicIp => "Your public IP address",
            CheckId::NetPtr => "Reverse DNS of your IP",
            CheckId::NetDnsbl => "Blocklists",
            CheckId::SenderSpf => "Sender domain SPF",
            CheckId::SenderDmarc => "Sender domain DMARC",
            CheckId::RecipientMx => "Recipient domain MX",
            CheckId::Discover => "Settings that work",
        }
    }

    pub fn group(self) -> Group {
        match self {
            CheckId::DnsServer | CheckId::Discover => Group::Server,
            CheckId::NetPort | CheckId::NetPorts | CheckId::SmtpGreeting | CheckId::SmtpEhlo => {
                Group::Connection
            }
            CheckId::Tls => Group::Encryption,
            CheckId::Auth | CheckId::IncomingLogin => Group::Login,
            CheckId::Relay | CheckId::RelayAnonymous | CheckId::Send => Group::Relay,
            CheckId::NetPublicIp
            | CheckId::NetPtr
            | CheckId::NetDnsbl
            | CheckId::SenderSpf
            | CheckId::SenderDmarc => Group::SenderDomain,
            CheckId::RecipientMx => Group::RecipientDomain,
        }
    }

    /// The checks whose results this one needs, in the usual (STARTTLS or
    /// no encryption) order; [`CheckId::deps_in`] gives the implicit-TLS
    /// order. The main session skips what a failed step's dependents are
    /// from this table, and nowhere else.
    pub fn deps(self) -> &'static [CheckId] {
        match self {
            CheckId::DnsServer => &[],
            CheckId::NetPort | CheckId::NetPorts => &[CheckId::DnsServer],
            CheckId::SmtpGreeting => &[CheckId::NetPort],
            CheckId::SmtpEhlo => &[CheckId::SmtpGreeting],
            CheckId::Tls => &[CheckId::SmtpEhlo],
            CheckId::Auth => &[CheckId::Tls],
            CheckId::Relay => &[CheckId::Auth],
            CheckId::RelayAnonymous => &[CheckId::SmtpGreeting],
            CheckId::Send => &[CheckId::Relay],
            // Discovery starts from the address alone, beside everything else.
            CheckId::IncomingLogin
            | CheckId::SenderDmarc
            | CheckId::RecipientMx
            | CheckId::Discover => &[],
            CheckId::NetPublicIp => &[CheckId::SmtpEhlo],
            CheckId::NetPtr | CheckId::NetDnsbl | CheckId::SenderSpf => &[CheckId::NetPublicIp],
        }
    }

    /// The checks this one needs, in the order the session takes: with
    /// implicit TLS (SSL/TLS from the first byte) the handshake comes right
    /// after the connection and before the greeting, and the login needs
    /// EHLO; otherwise the table of [`CheckId::deps`].
    pub fn deps_in(self, implicit_tls: bool) -> &'static [CheckId] {
        match (implicit_tls, self) {
            (true, CheckId::Tls) => &[CheckId::NetPort],
            (true, CheckId::SmtpGreeting) => &[CheckId::Tls],
            (true, CheckId::Auth) => &[CheckId::SmtpEhlo],
            _ => self.deps(),
        }
    }

    /// Whether this check needs `other`, directly or through another.
    pub fn needs(self, other: CheckId, implicit_tls: bool) -> bool {
        self.deps_in(implicit_tls)
            .iter()
            .any(|&d| d == other || d.needs(other, implicit_tls))
    }

    /// The checks among `within` that need this one: the ones that cannot
    /// run when it fails.
    pub fn dependents(self, implicit_tls: bool, within: &[CheckId]) -> Vec<CheckId> {
        within
            .iter()
            .copied()
            .filter(|id| id.needs(self, implicit_tls))
            .collect()
    }

    /// How many checks come before this one on its chain of needs.
    pub fn depth(self, implicit_tls: bool) -> usize {
        self.deps_in(implicit_tls)
            .iter()
            .map(|d| d.depth(implicit_tls) + 1)
            .max()
            .unwrap_or(0)
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }

    /// Fail and error are problems; warn is worth a look; pass and skip are not.
    pub fn is_problem(self) -> bool {
        matches!(self, Status::Fail | Status::Error)
    }
}

/// Who wrote a transcript line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    Client,
    Server,
}

/// One line of an SMTP conversation. Secrets are already redacted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// Milliseconds since the run started.
    pub t_ms: u64,
    pub dir: Dir,
    pub line: String,
}

/// What one check found.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub id: CheckId,
    pub title: &'static str,
    pub status: Status,
    /// One line in plain words.
    pub summary: String,
    /// Structured evidence, specific to the check.
    pub details: Map<String, Value>,
    #[serde(rename = "duration_ms", serialize_with = "ser_ms")]
    pub duration: Duration,
    pub transcript: Vec<TranscriptLine>,
    /// The server reply that decided the outcome, when there was one.
    #[serde(skip)]
    pub reply: Option<Reply>,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// An outcome read back from a JSON report (recorded runs are test
/// fixtures): the title comes from the id, and the deciding reply from the
/// `reply` detail, which keeps the whole reply text.
impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Outcome, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            id: CheckId,
            status: Status,
            summary: String,
            #[serde(default)]
            details: Map<String, Value>,
            #[serde(default)]
            duration_ms: u64,
            #[serde(default)]
            transcript: Vec<TranscriptLine>,
        }
        let raw = Raw::deserialize(d)?;
        let reply = raw
            .details
            .get("reply")
            .and_then(Value::as_str)
            .and_then(Reply::parse);
        Ok(Outcome {
            id: raw.id,
            title: raw.id.title(),
            status: raw.status,
            summary: raw.summary,
            details: raw.details,
            duration: Duration::from_millis(raw.duration_ms),
            transcript: raw.transcript,
            reply,
        })
    }
}

impl Outcome {
    pub fn new(id: CheckId, status: Status, summary: impl Into<String>) -> Outcome {
        Outcome {
            id,
            title: id.title(),
            status,
            summary: summary.into(),
            details: Map::new(),
            duration: Duration::ZERO,
            transcript: Vec::new(),
            reply: None,
        }
    }

    pub fn skip(id: CheckId, why: impl Into<String>) -> Outcome {
        Outcome::new(id, Status::Skip, why)
    }

    /// Adds one detail by key; values that fail to serialize are left
    /// out. For outcomes built by hand (tests of the diagnosis and the
    /// front ends): the probe writes through the checks' views
    /// ([`Outcome::set_view`]), and `tests/details_views.rs` fails on a
    /// keyed write in `src/probe`.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Outcome {
        self.set(key, value);
        self
    }

    pub fn set(&mut self, key: &str, value: impl Serialize) {
        if let Ok(v) = serde_json::to_value(value) {
            self.details.insert(key.to_string(), v);
        }
    }

    pub fn with_reply(mut self, reply: Option<Reply>) -> Outcome {
        if let Some(r) = &reply {
            self.set("reply", r.summary());
            self.set("reply_code", r.code);
            if let Some(e) = r.enhanced {
                self.set("enhanced_code", e.to_string());
            }
        }
        self.reply = reply;
        self
    }

    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.details.get(key).and_then(Value::as_str)
    }

    /// A detail that is a list of strings (empty when absent).
    pub fn detail_strs(&self, key: &str) -> Vec<String> {
        self.details
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn detail_bool(&self, key: &str) -> Option<bool> {
        self.details.get(key).and_then(Value::as_bool)
    }
}

/// What a run reports while it goes.
#[derive(Clone, Debug)]
pub enum Event {
    Started(CheckId),
    Progress(CheckId, String),
    Transcript(CheckId, TranscriptLine),
    Finished(Box<Outcome>),
    /// A line for the support log: a DNS question of this check and its
    /// answer or failure.
    Log(CheckId, String),
    /// Every check has finished (or was skipped).
    Done,
}

#[cfg(test)]
mod tests {
    use super::CheckId::{self, *};

    const SESSION: [CheckId; 6] = [NetPort, SmtpGreeting, SmtpEhlo, Tls, Auth, Relay];

    #[test]
    fn implicit_tls_puts_the_handshake_before_the_greeting() {
        assert_eq!(
            NetPort.dependents(true, &SESSION),
            vec![SmtpGreeting, SmtpEhlo, Tls, Auth, Relay]
        );
        assert_eq!(
            Tls.dependents(true, &SESSION),
            vec![SmtpGreeting, SmtpEhlo, Auth, Relay]
        );
        assert_eq!(
            SmtpGreeting.dependents(true, &SESSION),
            vec![SmtpEhlo, Auth, Relay]
        );
        assert_eq!(
            SmtpGreeting.dependents(false, &SESSION),
            vec![SmtpEhlo, Tls, Auth, Relay]
        );
        assert_eq!(Tls.dependents(false, &SESSION), vec![Auth, Relay]);
        let mut order = SESSION.to_vec();
        order.sort_by_key(|c| c.depth(true));
        assert_eq!(
            order,
            vec![NetPort, Tls, SmtpGreeting, SmtpEhlo, Auth, Relay]
        );
        order.sort_by_key(|c| c.depth(false));
        assert_eq!(
            order,
            vec![NetPort, SmtpGreeting, SmtpEhlo, Tls, Auth, Relay]
        );
    }
}
