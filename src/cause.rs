//! Cause ids: the stable names of what stops mail (DESIGN.md, "Contract").
//! Scripts and reports depend on them, so they are an enum the compiler
//! checks, written in kebab-case on the wire; the catalog in
//! `assets/causes.json` must describe every one of them (a test checks).

use crate::probe::CheckId;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! causes {
    ($($variant:ident = $name:literal),+ $(,)?) => {
        /// Every cause smtp-doctor can name. Add ids; never rename or reuse one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum CauseId {
            $(#[serde(rename = $name)] $variant,)+
        }

        impl CauseId {
            pub const ALL: &'static [CauseId] = &[$(CauseId::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(CauseId::$variant => $name,)+
                }
            }
        }
    };
}

causes! {
    DnsServerNotFound = "dns-server-not-found",
    ServerUnreachable = "server-unreachable",
    PortBlocked = "port-blocked",
    WrongPort = "wrong-port",
    NotSmtp = "not-smtp",
    WrongSecurity = "wrong-security",
    TlsRequired = "tls-required",
    TlsCertificate = "tls-certificate",
    TlsHandshakeFailed = "tls-handshake-failed",
    AuthNotOffered = "auth-not-offered",
    AuthRequired = "auth-required",
    AuthFailed = "auth-failed",
    AuthDisabled = "auth-disabled",
    AppPasswordRequired = "app-password-required",
    AuthMechanismUnsupported = "auth-mechanism-unsupported",
    OauthRequired = "oauth-required",
    RelayDenied = "relay-denied",
    IpNotAllowed = "ip-not-allowed",
    SenderNotPermitted = "sender-not-permitted",
    SpfNotAuthorized = "spf-not-authorized",
    ReverseDnsMissing = "reverse-dns-missing",
    IpBlocklisted = "ip-blocklisted",
    RateLimited = "rate-limited",
    Greylisted = "greylisted",
    RecipientDomainInvalid = "recipient-domain-invalid",
    RecipientMxPrivate = "recipient-mx-private",
    RecipientRejected = "recipient-rejected",
    MailboxFull = "mailbox-full",
    MessageTooLarge = "message-too-large",
}

impl CauseId {
    pub fn parse(name: &str) -> Option<CauseId> {
        CauseId::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// The step of the mail path this cause stops mail at: a message goes
    /// DNS → TCP → greeting → TLS → AUTH → MAIL/RCPT (relay) → the
    /// recipient's side. Causes about the sender's reputation and the
    /// recipient show up at the relay step, where a server can refuse for
    /// them.
    pub fn step(self) -> CheckId {
        use CauseId::*;
        match self {
            DnsServerNotFound => CheckId::DnsServer,
            ServerUnreachable | PortBlocked | WrongPort => CheckId::NetPort,
            NotSmtp => CheckId::SmtpGreeting,
            WrongSecurity | TlsRequired | TlsCertificate | TlsHandshakeFailed => CheckId::Tls,
            AuthNotOffered
            | AuthRequired
            | AuthFailed
            | AuthDisabled
            | AppPasswordRequired
            | AuthMechanismUnsupported
            | OauthRequired => CheckId::Auth,
            RelayDenied
            | IpNotAllowed
            | SenderNotPermitted
            | SpfNotAuthorized
            | ReverseDnsMissing
            | IpBlocklisted
            | RateLimited
            | Greylisted
            | RecipientDomainInvalid
            | RecipientMxPrivate
            | RecipientRejected
            | MailboxFull
            | MessageTooLarge => CheckId::Relay,
        }
    }

    /// Checks whose pass proves this cause is not what stops mail: "the
    /// name can't be found" after the name resolved, "log in first" after
    /// a login passed, "relaying refused" after the server took the
    /// recipient.
    pub fn contradicted_by(self) -> &'static [CheckId] {
        use CauseId::*;
        match self {
            DnsServerNotFound => &[CheckId::DnsServer],
            ServerUnreachable | PortBlocked | WrongPort => &[CheckId::NetPort],
            NotSmtp => &[CheckId::SmtpGreeting],
            WrongSecurity | TlsCertificate | TlsHandshakeFailed => &[CheckId::Tls],
            TlsRequired => &[],
            AuthNotOffered
            | AuthRequired
            | AuthFailed
            | AuthDisabled
            | AppPasswordRequired
            | AuthMechanismUnsupported
            | OauthRequired => &[CheckId::Auth],
            RelayDenied | IpNotAllowed | SenderNotPermitted | RecipientRejected => {
                &[CheckId::Relay]
            }
            RecipientDomainInvalid | RecipientMxPrivate => &[CheckId::RecipientMx],
            SpfNotAuthorized | ReverseDnsMissing | IpBlocklisted | RateLimited | Greylisted
            | MailboxFull | MessageTooLarge => &[],
        }
    }
}

impl fmt::Display for CauseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for CauseId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for CauseId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl std::str::FromStr for CauseId {
    type Err = String;
    fn from_str(s: &str) -> Result<CauseId, String> {
        CauseId::parse(s).ok_or_else(|| format!("unknown cause id {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_on_the_wire() {
        for c in CauseId::ALL {
            assert_eq!(CauseId::parse(c.as_str()), Some(*c));
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<CauseId>(&json).unwrap(), *c);
        }
        assert_eq!(CauseId::parse("no-such-cause"), None);
    }
}
