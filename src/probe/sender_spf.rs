//! `sender.spf`: the sender domain's SPF evaluated (by [`crate::spf`]) for
//! the public IP, with its trace, and the record to publish when it does
//! not pass.
//!
//! Whether a failure matters depends on who hands the mail over: with
//! authenticated submission the provider's servers send it onwards, and
//! their addresses are what receivers check; when this machine relays by
//! IP (no login) or sends directly, its own address must be in the record.

use super::Ctx;
use super::details as view;
use super::model::{CheckId, Outcome, Status};
use crate::spf::{self, Addition, HickoryDns, SpfResult};
use std::net::IpAddr;

/// The include a provider documents for its sending servers.
pub fn provider_include(provider: &str) -> Option<&'static str> {
    match provider {
        "microsoft365" => Some("spf.protection.outlook.com"),
        "google" => Some("_spf.google.com"),
        "zoho" => Some("zoho.com"),
        "sendgrid" => Some("sendgrid.net"),
        "mailgun" => Some("mailgun.org"),
        "amazon_ses" => Some("amazonses.com"),
        _ => None,
    }
}

pub(super) async fn sender_spf(ctx: &Ctx, ip: IpAddr) -> Outcome {
    let id = CheckId::SenderSpf;
    let s = &ctx.settings;
    let sender = s.effective_sender().to_string();
    if super::domains::domain_of(&sender).is_none() {
        return Outcome::skip(id, "No sender domain to check");
    }
    let resolver = match ctx.resolver() {
        Ok(r) => r.clone(),
        Err(e) => return Outcome::new(id, Status::Error, e),
    };
    let dns = HickoryDns::new(resolver);
    let helo = if s.helo.trim().is_empty() {
        format!("[{ip}]")
    } else {
        s.helo.trim().to_string()
    };
    let e = spf::evaluate(&dns, ip, &sender, &helo).await;
    // With a login the provider's servers hand the mail on; without one,
    // this address is the sender as far as receivers can tell.
    let own_ip_sends = !s.auth;
    let (status, summary) = verdict(&e, ip, own_ip_sends);
    let mut v = view::Spf {
        result: Some(e.result.as_str().into()),
        domain: Some(e.domain.clone()),
        ip: Some(ip.to_string()),
        record: Some(e.record.clone()),
        records: Some(e.records.clone()),
        matched: Some(e.matched.clone()),
        lookups: Some(e.lookups.into()),
        void_lookups: Some(e.void_lookups.into()),
        error: Some(e.error.clone()),
        own_ip_sends: Some(own_ip_sends),
        trace: Some(view::values(&e.trace)),
        trace_text: Some(e.trace_text()),
        ..Default::default()
    };
    if !matches!(e.result, SpfResult::Pass | SpfResult::TempError) {
        let records: Vec<&str> = e.records.iter().map(String::as_str).collect();
        let m = spf::merge_records(&records, Addition::Ip(ip));
        v.fix_record = Some(m.record);
        v.fix_lookups = Some(m.lookups_after.map(u64::from));
        v.fix_warning = Some(m.warning);
    }
    Outcome::new(id, status, summary).with_view(v)
}

/// The status and the words for an SPF result.
fn verdict(e: &spf::Evaluation, ip: IpAddr, own_ip_sends: bool) -> (Status, String) {
    let matters = if own_ip_sends {
        ""
    } else {
        " (this matters only if this machine sends without logging in, or directly to the recipients' servers)"
    };
    let d = &e.domain;
    match e.result {
        SpfResult::Pass => (
            Status::Pass,
            format!(
                "{d}'s SPF authorizes {ip} ({})",
                e.matched.as_deref().unwrap_or("matched")
            ),
        ),
        SpfResult::Fail => (
            if own_ip_sends {
                Status::Fail
            } else {
                Status::Warn
            },
            format!("{d}'s SPF does not authorize {ip}: receivers may reject the mail{matters}"),
        ),
        SpfResult::SoftFail => (
            Status::Warn,
            format!("{d}'s SPF soft-fails {ip}: receivers may mark the mail as spam{matters}"),
        ),
        SpfResult::Neutral => (
            Status::Warn,
            format!("{d}'s SPF says nothing about {ip} (neutral)"),
        ),
        SpfResult::None => (Status::Warn, format!("{d} publishes no SPF record")),
        SpfResult::PermError => (
            Status::Warn,
            format!(
                "{d}'s SPF record is broken: {}",
                e.error.as_deref().unwrap_or("permanent error")
            ),
        ),
        SpfResult::TempError => (
            Status::Error,
            format!(
                "{d}'s SPF could not be evaluated: {}",
                e.error.as_deref().unwrap_or("DNS failure")
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::provider_include;

    #[test]
    fn provider_includes() {
        assert_eq!(
            provider_include("microsoft365"),
            Some("spf.protection.outlook.com")
        );
        assert_eq!(provider_include("google"), Some("_spf.google.com"));
        assert_eq!(provider_include("postfix"), None);
    }
}
