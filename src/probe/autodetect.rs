//! Finding a custom domain's submission settings for the wizard: the
//! provider behind its MX hosts (a Microsoft 365 or Google MX, say), and
//! the submission service it publishes in SRV records (RFC 6186 and
//! RFC 8314: `_submissions._tcp` for implicit TLS, `_submission._tcp` for
//! STARTTLS).

use super::lookup;
use crate::catalog::catalog;
use crate::settings::{Security, Settings};
use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{RData, RecordType};

/// What the domain's DNS says about sending mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    /// Catalog id of the provider behind the MX hosts.
    pub provider: Option<String>,
    pub mx_hosts: Vec<String>,
    /// Submission server published in SRV: host, port, security.
    pub srv: Option<(String, u16, Security)>,
}

/// Looks the domain up with the resolver of `settings` (its DNS override or
/// the system's). Failures give an empty answer: detection only suggests.
pub async fn detect(settings: &Settings, domain: &str) -> Detected {
    let Ok((r, _)) = super::dns::resolver(settings) else {
        return Detected::default();
    };
    let (mx, srv) = tokio::join!(lookup::mx(&r, domain), submission_srv(&r, domain));
    let mx_hosts: Vec<String> = mx
        .unwrap_or_default()
        .into_iter()
        .map(|(_, h)| h)
        .filter(|h| h != ".")
        .collect();
    let provider = catalog().provider_for_mx(&mx_hosts).map(|p| p.id.clone());
    Detected {
        provider,
        mx_hosts,
        srv,
    }
}

/// One SRV answer. A target of "." (RFC 2782; RFC 6186 §3.4) says the
/// service is not offered at all: `host` is then empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvTarget {
    pub priority: u16,
    pub weight: u16,
    pub host: String,
    pub port: u16,
}

impl SrvTarget {
    /// "Not offered here" (target "." or port 0).
    pub fn not_offered(&self) -> bool {
        self.host.is_empty() || self.port == 0
    }
}

/// The SRV records of `name` (e.g. `_submissions._tcp.example.com`), best
/// first (lowest priority, then highest weight). No record is an empty
/// list; a failed lookup is an error in words.
pub async fn srv(r: &TokioResolver, name: &str) -> Result<Vec<SrvTarget>, String> {
    let name = lookup::fqdn(name);
    let found = match tokio::time::timeout(
        r.options().timeout + std::time::Duration::from_millis(500),
        r.lookup(name.clone(), RecordType::SRV),
    )
    .await
    {
        Err(_) => return Err(format!("no answer for SRV {name}")),
        Ok(Err(e)) => {
            return match super::dns::LookupFailure::of(&e) {
                super::dns::LookupFailure::NoSuchName | super::dns::LookupFailure::NoRecords => {
                    Ok(Vec::new())
                }
                kind => Err(format!("SRV {name}: {}", kind.as_str())),
            };
        }
        Ok(Ok(found)) => found,
    };
    let mut out: Vec<SrvTarget> = found
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::SRV(s) => {
                let t = s.target.to_ascii();
                let host = t.trim_end_matches('.').to_ascii_lowercase();
                Some(SrvTarget {
                    priority: s.priority,
                    weight: s.weight,
                    host,
                    port: s.port,
                })
            }
            _ => None,
        })
        .collect();
    out.sort_by_key(|t| (t.priority, u16::MAX - t.weight));
    out.truncate(16);
    Ok(out)
}

/// The preferred submission SRV record; implicit TLS first (RFC 8314 §5.1).
async fn submission_srv(r: &TokioResolver, domain: &str) -> Option<(String, u16, Security)> {
    for (service, security) in [
        ("_submissions._tcp", Security::Tls),
        ("_submission._tcp", Security::Starttls),
    ] {
        let Ok(found) = srv(r, &format!("{service}.{domain}")).await else {
            continue;
        };
        if let Some(t) = found.into_iter().find(|t| !t.not_offered()) {
            return Some((t.host, t.port, security));
        }
    }
    None
}
