//! Typed views of each check's details, at both ends. The details travel
//! as a JSON object in the report (its shape is a contract); these structs
//! name every key once, with its type. The probe writes a check's details
//! by filling its view and handing it to [`Outcome::set_view`], and the
//! code that reasons about them (the diagnosis) reads them back with
//! [`Outcome::view`], so a reader asks `auth.auth_offered` instead of
//! `detail_bool("auth_offered")` and a misspelt key does not compile.
//! `tests/recorded.rs` reads every recorded real run through these views
//! and fails on a key a view does not declare; `tests/details_views.rs`
//! writes each recorded outcome back through its view and wants the same
//! details, and fails on a detail written by key in `src/probe`.
//!
//! A field is `None` when the check did not write it. A few details are
//! written as JSON `null` when the probe had no value (the report has
//! always shown them so): those fields are `Option<Option<T>>`, read with
//! [`present`] so that `Some(None)` is a written `null`.

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

/// Reads a field that is present in the details, even as `null`, as
/// `Some` (an absent one stays `None` through `#[serde(default)]`).
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
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
        #[serde(deserialize_with = "present")]
        certificate_error: Option<String>,
        handshake_failure: String,
        /// The service found instead of TLS.
        not_smtp: String,
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
        #[serde(deserialize_with = "present")]
        ipv6: Option<String>,
        version: u8,
        source: String,
        sources: Vec<Value>,
        #[serde(deserialize_with = "present")]
        ehlo_echo: Option<String>,
        #[serde(deserialize_with = "present")]
        local_address: Option<String>,
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
        #[serde(deserialize_with = "present")]
        matched: Option<String>,
        #[serde(deserialize_with = "present")]
        record: Option<String>,
        records: Vec<String>,
        own_ip_sends: bool,
        lookups: u64,
        void_lookups: u64,
        trace: Vec<Value>,
        trace_text: String,
        fix_record: String,
        #[serde(deserialize_with = "present")]
        fix_warning: Option<String>,
        #[serde(deserialize_with = "present")]
        fix_lookups: Option<u64>,
        #[serde(deserialize_with = "present")]
        error: Option<String>,
    }
);

view!(
    /// `net.ptr`.
    Ptr for NetPtr {
        ip: String,
        names: Vec<String>,
        forward_confirmed: bool,
        failure: String,
    }
);

view!(
    /// `net.dnsbl`.
    Dnsbl for NetDnsbl {
        ip: String,
        /// One row a list: list, listed, meaning, and answer or error.
        lists: Vec<Value>,
    }
);

view!(
    /// `sender.dmarc`.
    Dmarc for SenderDmarc {
        domain: String,
        /// More than one record (receivers ignore them all).
        records: Vec<String>,
        record: String,
        /// The name the record was found at (the organisational domain's
        /// when inherited).
        found_at: String,
        /// none, quarantine, reject, or none-published.
        policy: String,
        spf_alignment: String,
        dkim_alignment: String,
        pct: u8,
    }
);

view!(
    /// `incoming.login`: the incoming (IMAP or POP3) login; `reply` is the
    /// server's answer line.
    IncomingLogin for IncomingLogin {
        server: String,
        port: u16,
        protocol: String,
        security: String,
        login: String,
        accepted: bool,
        /// refused, timed-out… when the connection failed.
        failure: String,
        /// The port answered like another service.
        wrong_service: bool,
    }
);

view!(
    /// `send`: the real test message.
    SendMessage for Send {
        sender: String,
        recipient: String,
        #[serde(deserialize_with = "present")]
        queue_id: Option<String>,
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
        /// refused or timed-out; written as null when port 25 answered.
        #[serde(deserialize_with = "present")]
        port25_problem: Option<String>,
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
        #[serde(deserialize_with = "present")]
        provider: Option<String>,
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

/// Items of the probe's own types as the JSON a view holds them in.
pub fn values<T: Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

fn fits(view: CheckId, outcome: CheckId) -> bool {
    view == outcome || (view == CheckId::Relay && outcome == CheckId::RelayAnonymous)
}

impl Outcome {
    /// Writes the fields of `v` that are set into the details, over what
    /// is there: the one way the probe writes a check's details.
    pub fn set_view<V: View>(&mut self, v: V) {
        debug_assert!(
            fits(V::CHECK, self.id),
            "view of {} written to {}",
            V::CHECK,
            self.id
        );
        self.merge(&v);
    }

    /// [`Outcome::set_view`], by value.
    pub fn with_view<V: View>(mut self, v: V) -> Outcome {
        self.set_view(v);
        self
    }

    /// Marks the check that was under way when its session's overall time
    /// ran out (every check with a view carries [`LimitFields`]).
    pub fn with_limit(mut self, budget: std::time::Duration) -> Outcome {
        self.merge(&LimitFields {
            overall_timeout: Some(true),
            budget_secs: Some(budget.as_secs()),
        });
        self
    }

    fn merge(&mut self, fields: &impl Serialize) {
        if let Ok(Value::Object(m)) = serde_json::to_value(fields) {
            self.details.extend(m);
        }
    }

    /// The typed view of this outcome's details. A detail of the wrong type
    /// reads as absent (the report is the probe's own; `tests/recorded.rs`
    /// proves the views match what real runs write).
    pub fn view<V: View>(&self) -> V {
        debug_assert!(
            fits(V::CHECK, self.id),
            "view of {} read from {}",
            V::CHECK,
            self.id
        );
        serde_json::from_value(Value::Object(self.details.clone())).unwrap_or_default()
    }
}

/// `details` read into the view of `check` and written back through it:
/// what the probe would write for the same values. Tests compare it with
/// recorded details to prove the views lose and add nothing.
pub fn rewritten(
    check: CheckId,
    details: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    fn through<V: View>(
        check: CheckId,
        details: &Map<String, Value>,
    ) -> Result<Map<String, Value>, String> {
        let v: V =
            serde_json::from_value(Value::Object(details.clone())).map_err(|e| format!("({e})"))?;
        Ok(Outcome::new(check, super::Status::Pass, "")
            .with_view(v)
            .details)
    }
    match check {
        CheckId::DnsServer => through::<DnsServer>(check, details),
        CheckId::NetPort => through::<NetPort>(check, details),
        CheckId::NetPorts => through::<NetPorts>(check, details),
        CheckId::SmtpGreeting => through::<Greeting>(check, details),
        CheckId::SmtpEhlo => through::<Ehlo>(check, details),
        CheckId::Tls => through::<Tls>(check, details),
        CheckId::Auth => through::<Auth>(check, details),
        CheckId::Relay | CheckId::RelayAnonymous => through::<Relay>(check, details),
        CheckId::Send => through::<SendMessage>(check, details),
        CheckId::IncomingLogin => through::<IncomingLogin>(check, details),
        CheckId::NetPublicIp => through::<PublicIp>(check, details),
        CheckId::NetPtr => through::<Ptr>(check, details),
        CheckId::NetDnsbl => through::<Dnsbl>(check, details),
        CheckId::SenderSpf => through::<Spf>(check, details),
        CheckId::SenderDmarc => through::<Dmarc>(check, details),
        CheckId::RecipientMx => through::<RecipientMx>(check, details),
        CheckId::Discover => through::<Discover>(check, details),
    }
}

/// The keys of `details` that the view of `check` does not declare. Tests
/// use it to catch a detail the views do not know.
pub fn undeclared_keys(check: CheckId, details: &Map<String, Value>) -> Vec<String> {
    match rewritten(check, details) {
        Err(e) => vec![format!("details do not fit the view {e}")],
        Ok(kept) => details
            .iter()
            .filter(|(k, v)| !v.is_null() && !kept.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect(),
    }
}
