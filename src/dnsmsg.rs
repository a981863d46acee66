//! DNS messages for the small DNS servers smtp-doctor runs on loopback: the
//! demo's zone, the benchmark's proxy and the scripted servers of the tests.
//! Built with hickory's own message types (the ones the resolver parses),
//! not by hand, so a test server cannot speak a dialect the resolver would
//! never meet.

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, MX, PTR, TXT};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::net::Ipv4Addr;

/// What a zone says for one name and type.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// These records (none: the name exists without records of that type).
    Records(Vec<RData>),
    /// The name does not exist.
    NxDomain,
    /// This server will not answer for the name.
    Refused,
}

/// An A record's data.
pub fn a(ip: Ipv4Addr) -> RData {
    RData::A(A(ip))
}

/// A TXT record's data (split into strings of at most 255 bytes).
pub fn txt(text: &str) -> RData {
    let chunks = text
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    RData::TXT(TXT::new(chunks))
}

/// An MX record's data; `None` for a host that is not a domain name.
pub fn mx(preference: u16, host: &str) -> Option<RData> {
    Some(RData::MX(MX::new(
        preference,
        Name::from_ascii(fqdn(host)).ok()?,
    )))
}

/// A PTR record's data; `None` for a host that is not a domain name.
pub fn ptr(host: &str) -> Option<RData> {
    Some(RData::PTR(PTR(Name::from_ascii(fqdn(host)).ok()?)))
}

fn fqdn(host: &str) -> String {
    if host.ends_with('.') {
        host.to_string()
    } else {
        format!("{host}.")
    }
}

/// The question of a query: the name (lowercase, without the final dot)
/// and the type; `None` for anything that is not a query with one question.
pub fn question(query: &[u8]) -> Option<(String, RecordType)> {
    let q = Message::from_vec(query).ok()?;
    if q.metadata.message_type != MessageType::Query || q.queries.len() != 1 {
        return None;
    }
    let question = &q.queries[0];
    let name = question.name().to_ascii().to_ascii_lowercase();
    Some((
        name.trim_end_matches('.').to_string(),
        question.query_type(),
    ))
}

/// The reply to `query` from a zone given as a function of the name
/// (lowercase, without the final dot) and the type; `None` when `query` is
/// not a query with one question.
pub fn respond(query: &[u8], zone: impl Fn(&str, RecordType) -> Answer) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    if q.metadata.message_type != MessageType::Query || q.queries.len() != 1 {
        return None;
    }
    let question = q.queries[0].clone();
    let name = question.name().to_ascii().to_ascii_lowercase();
    let mut reply = Message::response(q.metadata.id, q.metadata.op_code);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = q.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    match zone(name.trim_end_matches('.'), question.query_type()) {
        Answer::Records(records) => {
            for r in records {
                reply.add_answer(Record::from_rdata(question.name().clone(), 60, r));
            }
        }
        Answer::NxDomain => reply.metadata.response_code = ResponseCode::NXDomain,
        Answer::Refused => reply.metadata.response_code = ResponseCode::Refused,
    }
    reply.add_query(question);
    reply.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{OpCode, Query};

    fn query(name: &str, rtype: RecordType) -> Vec<u8> {
        let mut m = Message::new(4242, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
        m.to_vec().unwrap()
    }

    #[test]
    fn answers_records_nxdomain_and_refused_for_the_question_asked() {
        let zone = |name: &str, t: RecordType| match (name, t) {
            ("mail.example.com", RecordType::A) => Answer::Records(vec![a(Ipv4Addr::LOCALHOST)]),
            ("example.com", RecordType::MX) => {
                Answer::Records(vec![mx(10, "mail.example.com").unwrap()])
            }
            ("example.net", _) => Answer::Refused,
            _ => Answer::NxDomain,
        };
        let r =
            Message::from_vec(&respond(&query("Mail.Example.com.", RecordType::A), zone).unwrap())
                .unwrap();
        assert_eq!(r.metadata.id, 4242);
        assert_eq!(r.metadata.message_type, MessageType::Response);
        assert_eq!(r.queries.len(), 1);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].data, a(Ipv4Addr::LOCALHOST));
        let r = Message::from_vec(&respond(&query("example.com.", RecordType::MX), zone).unwrap())
            .unwrap();
        assert_eq!(r.answers[0].data, mx(10, "mail.example.com").unwrap());
        let r = Message::from_vec(&respond(&query("example.net.", RecordType::A), zone).unwrap())
            .unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        let r = Message::from_vec(&respond(&query("nope.test.", RecordType::A), zone).unwrap())
            .unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(
            question(&query("X.test.", RecordType::TXT)),
            Some(("x.test".into(), RecordType::TXT))
        );
        assert!(respond(b"not a dns message", zone).is_none());
        assert!(
            respond(&r.to_vec().unwrap(), zone).is_none(),
            "a response is not answered"
        );
    }

    #[test]
    fn long_txt_records_are_split_into_strings() {
        let long = "v".repeat(300);
        let RData::TXT(t) = txt(&long) else { panic!() };
        assert_eq!(t.txt_data.len(), 2);
    }
}
