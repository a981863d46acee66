//! [`SpfDns`] over hickory's resolver, for real runs.

use super::{DnsFail, SpfDns};
use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
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

    async fn records(&self, name: &str, rtype: RecordType) -> Result<Vec<Record>, DnsFail> {
        // A trailing dot: the name is absolute, never tried with a search
        // domain. ASCII names go as they are (macros can put characters
        // such as "_" anywhere in a label); others through IDNA. A name
        // that cannot be put in a query cannot exist either.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let parsed = if fqdn.is_ascii() {
            Name::from_ascii(&fqdn)
        } else {
            Name::from_utf8(&fqdn)
        };
        let Ok(qname) = parsed else {
            return Err(DnsFail::NxDomain);
        };
        match self.resolver.lookup(qname, rtype).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .cloned()
                .collect()),
            Err(e) => Err(fail(&e)),
        }
    }
}

fn fail(e: &NetError) -> DnsFail {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => DnsFail::NxDomain,
            ResponseCode::NoError => DnsFail::NoRecords,
            code => DnsFail::Temp(format!("the server answered {code}")),
        },
        NetError::Timeout => DnsFail::Temp("no answer in time".to_string()),
        other => DnsFail::Temp(other.to_string()),
    }
}

fn name_text(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_string()
}

impl SpfDns for HickoryDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsFail> {
        let records = self.records(name, RecordType::TXT).await?;
        Ok(records
            .iter()
            .filter_map(|r| match &r.data {
                // RFC 7208 section 3.3: the strings of one record are
                // joined without spaces.
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect())
    }

    async fn a(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        let records = self.records(name, RecordType::A).await?;
        Ok(records
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                _ => None,
            })
            .collect())
    }

    async fn aaaa(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        let records = self.records(name, RecordType::AAAA).await?;
        Ok(records
            .iter()
            .filter_map(|r| match &r.data {
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect())
    }

    async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, DnsFail> {
        let records = self.records(name, RecordType::MX).await?;
        Ok(records
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(mx) => Some((mx.preference, name_text(&mx.exchange))),
                _ => None,
            })
            .collect())
    }

    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsFail> {
        let name = Name::from(ip).to_ascii();
        let records = self.records(&name, RecordType::PTR).await?;
        Ok(records
            .iter()
            .filter_map(|r| match &r.data {
                RData::PTR(ptr) => Some(name_text(&ptr.0)),
                _ => None,
            })
            .collect())
    }
}
