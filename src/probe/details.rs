//! Typed views of each check's details, for the code that reasons about
//! them (the diagnosis). The details travel as a JSON object in the report
//! (its shape is a contract), and the probe writes them by key; these
//! structs name every key once, with its type, so a reader asks
//! `auth.auth_offered` instead of `detail_bool("auth_offered")` and a
//! renamed key is caught: `tests/recorded.rs` reads every recorded real run
//! through these views and fails on a key a view does not declare.

use super::model::{CheckId, Outcome};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The reply that decided a check, as the probe records it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplyFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enhanced_code: Option<String>,
}

/// Set on the check that was under way when its session's overall time
/// ran out (a peer answering just before every step's timeout).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall_timeout: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_secs: Option<u64>,
}

/// A view of one check's details.
pub trait View: DeserializeOwned + Serialize + Default {
    const CHECK: CheckId;
}

macro_rules! view {
    ($(#[$m:meta])* $name:ident for $check:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            #[serde(flatten)]
            pub reply: ReplyFields,
            #[serde(flatten)]
            pub limits: LimitFields,
        }

        impl View for $name {
            const CHECK: CheckId = CheckId::$check;
        }
    };
}

view!(
    /// `dns.server`.
    DnsServer for DnsServer {
        host: String,
        resolver: String,
        addresses: Vec<String>,
        /// nxdomain, no-records, timeout, resolver-failed…
        failure: String,
        error: String,
    }
);

view!(
    /// `net.port`.
    NetPort for NetPort {
        port: u16,
        address: String,
        attempts: Vec<Value>,
        connect_ms: u64,
        /// refused, timed-out, unreachable…
        failure: String,
        error: String,
    }
);

/// One port of the survey.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortRow {
    pub port: u16,
    /// connected, refused, timed-out…
    pub state: String,
    /// smtp, smtp-tls, or another service's name.
    pub speaks: Option<String>,
    pub starttls: Option<bool>,
    pub auth: Vec<String>,
    pub banner: Option<String>,
    pub connect_ms: Option<u64>,
    pub note: Option<String>,
}

view!(
    /// `net.ports`.
    NetPorts for NetPorts {
        address: String,
        ports: Vec<PortRow>,
    }
);

view!(
    /// `smtp.greeting`.
    Greeting for SmtpGreeting {
        banner: String,
        mode: String,
        /// port-expects-tls or port-expects-starttls.
        mode_mismatch: String,
        /// The service found instead of SMTP.
        not_smtp: String,
        refused: bool,
        silent: bool,
        error: String,
    }
);

view!(
    /// `smtp.ehlo`: the capabilities before any TLS.
    Ehlo for SmtpEhlo {
        server_name: String,
        helo_name: String,
        capabilities: Vec<String>,
        auth_mechanisms: Vec<String>,
        starttls: bool,
        pipelining: bool,
        size_limit: u64,
        client_address: String,
        error: String,
    }
);

/// The server certificate as the TLS check saw it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Certificate {
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub names: Vec<String>,
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    pub days_left: Option<i64>,
    pub self_signed: Option<bool>,
    pub chain_len: Option<u64>,
}

view!(
    /// `tls`.
    Tls for Tls {
        mode: String,
        starttls_offered: bool,
        mode_mismatch: String,
        version: String,
        cipher: String,
        certificate: Certificate,
        /// expired, wrong-name, self-signed, unknown-issuer…
        certificate_problem: String,
        certificate_error: String,
        handshake_failure: String,
        no_trust_store: bool,
        plaintext_after_starttls: bool,
        ehlo_after_tls: Value,
        banner: String,
        error: String,
        after_tls_capabilities: Vec<String>,
        after_tls_auth_mechanisms: Vec<String>,
        after_tls_starttls: bool,
        after_tls_pipelining: bool,
        after_tls_size_limit: u64,
    }
);

view!(
    /// `auth`.
    Auth for Auth {
        auth_offered: bool,
        offered_mechanisms: Vec<String>,
        mechanism: String,
        login: String,
        unsupported_mechanisms: bool,
        /// The certificate problem the password was kept back for.
        withheld_for_certificate: String,
        /// The password was kept back: no encryption, no consent.
        withheld_unencrypted: bool,
        /// false when no AUTH was sent (the incoming login already refused
        /// the password: one failed login per run).
        attempted: bool,
        /// The check whose refusal made the login pointless.
        refused_by: String,
        error: String,
    }
);

view!(
    /// `relay` and `relay.anonymous`.
    Relay for Relay {
        /// mail or rcpt: the command that was refused, or rcpt when both passed.
        stage: String,
        accepted: bool,
        authenticated: bool,
        sender: String,
        recipient: String,
        mail_reply: String,
        rcpt_reply: String,
        open_relay_suspected: bool,
        error: String,
    }
);

view!(
    /// `net.public_ip`.
    PublicIp for NetPublicIp {
        ip: String,
        ipv6: String,
        version: u8,
        source: String,
        sources: Vec<Value>,
        ehlo_echo: String,
        local_address: String,
        behind_nat: bool,
        private: bool,
        error: String,
    }
);

view!(
    /// `sender.spf`.
    Spf for SenderSpf {
        domain: String,
        ip: String,
        result: String,
        matched: String,
        record: String,
        records: Vec<String>,
        own_ip_sends: bool,
        lookups: u64,
        void_lookups: u64,
        trace: Vec<Value>,
        trace_text: String,
        fix_record: String,
        fix_warning: String,
        fix_lookups: u64,
        error: String,
    }
);

/// One MX host of the recipient's domain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MxRow {
    pub preference: u16,
    pub host: String,
    pub addresses: Vec<String>,
    pub resolves: bool,
    /// Every address is private, loopback or otherwise unreachable from the Internet.
    pub reserved: bool,
    pub port25: String,
    pub greeting: Option<String>,
}

view!(
    /// `recipient.mx`.
    RecipientMx for RecipientMx {
        domain: String,
        mx: Vec<MxRow>,
        null_mx: bool,
        implicit_mx: bool,
        port25_problem: String,
        failure: String,
        error: String,
    }
);

/// One setting discovery probed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CandidateRow {
    pub host: String,
    pub port: u16,
    /// tls, starttls or none.
    pub security: String,
    pub username: Option<String>,
    pub username_form: Option<String>,
    pub declared_auth: Vec<String>,
    pub sources: Vec<Value>,
    pub probe: Value,
    /// Greets, encrypts with a valid certificate and offers a login.
    pub works: bool,
}

impl CandidateRow {
    /// Where the candidate came from, as "autoconfig, guess".
    pub fn source_kinds(&self) -> String {
        let mut kinds: Vec<&str> = self
            .sources
            .iter()
            .filter_map(|s| s.get("kind").and_then(Value::as_str))
            .collect();
        kinds.dedup();
        kinds.join(", ")
    }
}

view!(
    /// `discover`.
    Discover for Discover {
        email: String,
        domain: String,
        provider: Value,
        /// The provider accepts only OAuth2 on SMTP: no password can work.
        oauth_only: bool,
        oauth_provider: String,
        oauth_docs: Vec<String>,
        oauth_via: String,
        candidates: Vec<CandidateRow>,
        working: u64,
        matches_settings: bool,
        sources: Vec<Value>,
        incoming: Vec<Value>,
        mx_hosts: Vec<String>,
        warnings: Vec<String>,
        not_probed: u64,
    }
);

impl Outcome {
    /// The typed view of this outcome's details. A detail of the wrong type
    /// reads as absent (the report is the probe's own; `tests/recorded.rs`
    /// proves the views match what real runs write).
    pub fn view<V: View>(&self) -> V {
        debug_assert!(
            self.id == V::CHECK
                || (V::CHECK == CheckId::Relay && self.id == CheckId::RelayAnonymous),
            "view of {} read from {}",
            V::CHECK,
            self.id
        );
        serde_json::from_value(Value::Object(self.details.clone())).unwrap_or_default()
    }
}

/// The keys of `details` that a view of `check` does not declare (empty for
/// checks without a view). Tests use it to catch a detail written by the
/// probe under a name the diagnosis does not know.
pub fn undeclared_keys(check: CheckId, details: &Map<String, Value>) -> Vec<String> {
    fn roundtrip<V: View>(details: &Map<String, Value>) -> Result<Value, String> {
        let v: V =
            serde_json::from_value(Value::Object(details.clone())).map_err(|e| format!("({e})"))?;
        serde_json::to_value(v).map_err(|e| e.to_string())
    }
    let back = match check {
        CheckId::DnsServer => roundtrip::<DnsServer>(details),
        CheckId::NetPort => roundtrip::<NetPort>(details),
        CheckId::NetPorts => roundtrip::<NetPorts>(details),
        CheckId::SmtpGreeting => roundtrip::<Greeting>(details),
        CheckId::SmtpEhlo => roundtrip::<Ehlo>(details),
        CheckId::Tls => roundtrip::<Tls>(details),
        CheckId::Auth => roundtrip::<Auth>(details),
        CheckId::Relay | CheckId::RelayAnonymous => roundtrip::<Relay>(details),
        CheckId::NetPublicIp => roundtrip::<PublicIp>(details),
        CheckId::SenderSpf => roundtrip::<Spf>(details),
        CheckId::RecipientMx => roundtrip::<RecipientMx>(details),
        CheckId::Discover => roundtrip::<Discover>(details),
        _ => return Vec::new(),
    };
    match back {
        Err(e) => vec![format!("details do not fit the view {e}")],
        Ok(Value::Object(kept)) => details
            .iter()
            .filter(|(k, v)| !v.is_null() && !kept.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect(),
        Ok(_) => vec!["the view is not an object".into()],
    }
}
