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

/// The preferred submission SRV record; implicit TLS first (RFC 8314 §5.1).
async fn submission_srv(r: &TokioResolver, domain: &str) -> Option<(String, u16, Security)> {
    for (service, security) in [
        ("_submissions._tcp", Security::Tls),
        ("_submission._tcp", Security::Starttls),
    ] {
        let name = lookup::fqdn(&format!("{service}.{domain}"));
        let Ok(Ok(found)) =
            tokio::time::timeout(r.options().timeout, r.lookup(name, RecordType::SRV)).await
        else {
            continue;
        };
        let mut best: Vec<(u16, u16, String, u16)> = found
            .answers()
            .iter()
            .filter_map(|rec| match &rec.data {
                RData::SRV(s) => {
                    Some((s.priority, u16::MAX - s.weight, s.target.to_ascii(), s.port))
                }
                _ => None,
            })
            .collect();
        best.sort();
        // A target of "." says the service is not offered (RFC 2782).
        if let Some((_, _, target, port)) = best.into_iter().find(|b| b.2 != "." && b.3 != 0) {
            return Some((target.trim_end_matches('.').to_string(), port, security));
        }
    }
    None
}
