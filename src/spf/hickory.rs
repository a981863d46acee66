//! [`SpfDns`] over hickory's resolver, for real runs: the same lookups as
//! every other check (`probe::lookup`: one name rule, one bound in time,
//! one mapping of failures, control characters in TXT data escaped, and
//! each question in the support log).

use super::{DnsFail, SpfDns};
use crate::probe::dns::LookupFailure;
use crate::probe::lookup;
use hickory_resolver::TokioResolver;
use std::net::IpAddr;

/// Answers SPF's lookups with a hickory resolver (for a run, the one
/// `probe::dns::resolver` builds, so `--dns` applies here too).
#[derive(Clone)]
pub struct HickoryDns {
    resolver: TokioResolver,
}

impl HickoryDns {
    pub fn new(resolver: TokioResolver) -> HickoryDns {
        HickoryDns { resolver }
    }
}

/// SPF's view of a failed lookup (RFC 7208 §2.6: no such name and no
/// records are answers; anything else is a temporary error).
fn fail((kind, text): (LookupFailure, String)) -> DnsFail {
    match kind {
        LookupFailure::NoSuchName => DnsFail::NxDomain,
        LookupFailure::NoRecords => DnsFail::NoRecords,
        LookupFailure::Timeout => DnsFail::Temp("no answer in time".to_string()),
        LookupFailure::ResolverFailed => DnsFail::Temp(text),
    }
}

impl SpfDns for HickoryDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsFail> {
        lookup::txt(&self.resolver, name).await.map_err(fail)
    }

    async fn a(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        lookup::addrs(&self.resolver, name, false)
            .await
            .map_err(fail)
    }

    async fn aaaa(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        lookup::addrs(&self.resolver, name, true)
            .await
            .map_err(fail)
    }

    async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, DnsFail> {
        lookup::mx(&self.resolver, name).await.map_err(fail)
    }

    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsFail> {
        lookup::ptr(&self.resolver, ip).await.map_err(fail)
    }
}
