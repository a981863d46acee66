//! Name resolution: the resolver for a run, and the `dns.server` check.

use super::details as view;
use super::model::{CheckId, Outcome, Status};
use crate::settings::Settings;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{ResolverBuilder, TokioResolver};
use std::net::{IpAddr, SocketAddr};

/// A resolver builder that asks one DNS server (UDP, then TCP) at this
/// address and port.
pub fn builder_at(server: SocketAddr) -> ResolverBuilder<TokioRuntimeProvider> {
    let mut ns = NameServerConfig::udp_and_tcp(server.ip());
    for c in &mut ns.connections {
        c.port = server.port();
    }
    let mut builder = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    );
    // The chosen server answers every name, PTR lookups included; the
    // machine's hosts file would answer some of them behind its back.
    builder.options_mut().use_hosts_file = ResolveHosts::Never;
    builder
}

/// Builds the resolver for a run: the DNS server override when given,
/// otherwise the system's configuration.
pub fn resolver(settings: &Settings) -> Result<(TokioResolver, String), String> {
    let (builder, label) = match settings.dns_addr() {
        Some(Err(e)) => return Err(e),
        Some(Ok(sa)) => (builder_at(sa), sa.to_string()),
        None => (
            TokioResolver::builder_tokio()
                .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
            "system resolver".to_string(),
        ),
    };
    let mut builder = builder;
    let opts = builder.options_mut();
    opts.timeout = settings.timeout().min(std::time::Duration::from_secs(5));
    opts.attempts = 2;
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    let resolver = builder
        .build()
        .map_err(|e| format!("cannot set up DNS resolution: {e}"))?;
    Ok((resolver, label))
}

/// How a lookup failed, in the terms a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupFailure {
    /// The name does not exist (NXDOMAIN).
    NoSuchName,
    /// The name exists but has no record of the asked type.
    NoRecords,
    /// The resolver did not answer in time.
    Timeout,
    /// The resolver answered with an error (SERVFAIL, REFUSED…) or could not be asked.
    ResolverFailed,
}

impl LookupFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            LookupFailure::NoSuchName => "nxdomain",
            LookupFailure::NoRecords => "no-records",
            LookupFailure::Timeout => "timeout",
            LookupFailure::ResolverFailed => "resolver-failed",
        }
    }

    pub fn of(e: &NetError) -> LookupFailure {
        if e.is_nx_domain() {
            LookupFailure::NoSuchName
        } else if e.is_no_records_found() {
            LookupFailure::NoRecords
        } else if matches!(e, NetError::Timeout) || e.to_string().contains("timed out") {
            LookupFailure::Timeout
        } else {
            LookupFailure::ResolverFailed
        }
    }
}

/// Runs `dns.server`. Returns the outcome and the addresses to connect to,
/// IPv4 first (IPv6 is more often unroutable from where users sit).
pub(super) async fn check_server(ctx: &super::Ctx) -> (Outcome, Vec<IpAddr>) {
    let settings = &ctx.settings;
    let host = settings.server_name().to_string();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        let o = Outcome::new(
            CheckId::DnsServer,
            Status::Pass,
            format!("{ip} is an IP address; no DNS lookup needed"),
        )
        .with_view(view::DnsServer {
            addresses: Some(vec![ip.to_string()]),
            ..Default::default()
        });
        return (o, vec![ip]);
    }
    let label = ctx.resolver_label().to_string();
    let resolver = match ctx.resolver() {
        Ok(r) => r,
        Err(e) => {
            let o = Outcome::new(CheckId::DnsServer, Status::Error, e.clone()).with_view(
                view::DnsServer {
                    failure: Some(LookupFailure::ResolverFailed.as_str().into()),
                    error: Some(e),
                    ..Default::default()
                },
            );
            return (o, vec![]);
        }
    };
    let lookup = super::lookup::ips(resolver, &host);
    match super::lookup::logged(ctx, CheckId::DnsServer, lookup).await {
        Ok(addrs) => {
            let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
            let o = Outcome::new(
                CheckId::DnsServer,
                Status::Pass,
                format!("{host} resolves to {}", shown.join(", ")),
            )
            .with_view(view::DnsServer {
                host: Some(host),
                resolver: Some(label),
                addresses: Some(shown),
                ..Default::default()
            });
            (o, addrs)
        }
        Err((failure, e)) => {
            let (status, summary) = match failure {
                LookupFailure::NoSuchName => (
                    Status::Fail,
                    format!("The server name {host} does not exist in DNS (NXDOMAIN)"),
                ),
                LookupFailure::NoRecords => (
                    Status::Fail,
                    format!("{host} exists in DNS but has no IPv4 or IPv6 address"),
                ),
                LookupFailure::Timeout => (
                    Status::Error,
                    format!("The DNS server ({label}) did not answer in time for {host}"),
                ),
                LookupFailure::ResolverFailed => (
                    Status::Error,
                    format!("The DNS server ({label}) could not look up {host}: {e}"),
                ),
            };
            let o = Outcome::new(CheckId::DnsServer, status, summary).with_view(view::DnsServer {
                host: Some(host),
                resolver: Some(label),
                failure: Some(failure.as_str().into()),
                error: Some(e),
                ..Default::default()
            });
            (o, vec![])
        }
    }
}
