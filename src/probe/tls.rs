//! TLS for the probe: rustls with the ring provider, the system roots plus an
//! optional extra CA file, and a recording certificate verifier.
//!
//! A mail client stops at a bad certificate; a doctor wants to know *why* it
//! is bad and what the rest of the conversation would have said. The
//! [`RecordingVerifier`] runs the real WebPKI verification, keeps its verdict
//! and the presented chain, and lets the handshake go on, so the `tls` check
//! reports "expired 400 days ago" while `auth` and `relay` still teach
//! something.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The trust anchors for one run.
#[derive(Clone)]
pub struct TlsSetup {
    roots: Arc<RootCertStore>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// How many system roots were loaded (0 means none were found).
    pub system_roots: usize,
    pub extra_roots: usize,
}

impl TlsSetup {
    /// Loads the system roots and, when given, the PEM certificates of
    /// `ca_file`. An unreadable or empty CA file is an error: the user asked
    /// for it explicitly.
    pub fn load(ca_file: Option<&Path>) -> Result<TlsSetup, String> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (system_roots, _) = roots.add_parsable_certificates(native.certs);
        let mut extra_roots = 0;
        if let Some(path) = ca_file {
            // A CA bundle is a few hundred KiB; a huge file or a FIFO named
            // by mistake must not eat memory or hang the run.
            let pem = crate::fsread::read_regular(path, crate::settings::MAX_CA_FILE)
                .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
            let mut reader = pem.as_slice();
            for item in rustls_pemfile_certs(&mut reader) {
                let der = item.map_err(|e| format!("CA file {}: {e}", path.display()))?;
                roots
                    .add(der)
                    .map_err(|e| format!("CA file {}: {e}", path.display()))?;
                extra_roots += 1;
            }
            if extra_roots == 0 {
                return Err(format!(
                    "CA file {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        Ok(TlsSetup {
            roots: Arc::new(roots),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            system_roots,
            extra_roots,
        })
    }

    /// A client config whose verifier records into `record`.
    pub fn client_config(
        &self,
        record: Arc<Mutex<CertRecord>>,
    ) -> Result<Arc<ClientConfig>, String> {
        let inner =
            WebPkiServerVerifier::builder_with_provider(self.roots.clone(), self.provider.clone())
                .build()
                .map_err(|e| format!("no usable trust anchors: {e}"))?;
        let verifier = Arc::new(RecordingVerifier { inner, record });
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// Parses every `CERTIFICATE` block of a PEM file.
fn rustls_pemfile_certs(
    reader: &mut &[u8],
) -> impl Iterator<Item = Result<CertificateDer<'static>, String>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(reader)
        .map(|r| r.map_err(|e| format!("bad PEM: {e:?}")))
        .collect::<Vec<_>>()
        .into_iter()
}

/// What the verifier saw during one handshake.
#[derive(Default, Debug)]
pub struct CertRecord {
    pub chain: Vec<CertificateDer<'static>>,
    pub verdict: Option<Result<(), rustls::Error>>,
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    record: Arc<Mutex<CertRecord>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(|_| ());
        let mut rec = self.record.lock().unwrap_or_else(|p| p.into_inner());
        rec.chain = std::iter::once(end_entity.clone().into_owned())
            .chain(intermediates.iter().map(|c| c.clone().into_owned()))
            .collect();
        rec.verdict = Some(verdict);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Why a certificate is not trusted, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertProblem {
    Expired,
    NotYetValid,
    WrongName,
    SelfSigned,
    UnknownIssuer,
    Revoked,
    Other,
}

impl CertProblem {
    pub fn as_str(&self) -> &'static str {
        match self {
            CertProblem::Expired => "expired",
            CertProblem::NotYetValid => "not-yet-valid",
            CertProblem::WrongName => "wrong-name",
            CertProblem::SelfSigned => "self-signed",
            CertProblem::UnknownIssuer => "unknown-issuer",
            CertProblem::Revoked => "revoked",
            CertProblem::Other => "other",
        }
    }
}

/// What a user needs to know of the server's certificate.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub self_signed: bool,
    pub chain_len: usize,
}

/// The result of one TLS handshake.
#[derive(Clone, Debug, Serialize)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    pub certificate: Option<CertInfo>,
    /// `None` when the certificate is trusted and valid for the name.
    pub problem: Option<CertProblem>,
    /// The verifier's own words for the problem.
    pub problem_detail: Option<String>,
}

impl TlsInfo {
    /// Reads the negotiated parameters and the verifier's record.
    pub fn from_connection(conn: &rustls::ClientConnection, record: &Mutex<CertRecord>) -> TlsInfo {
        let version = conn
            .protocol_version()
            .map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
                rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default();
        let rec = record.lock().unwrap_or_else(|p| p.into_inner());
        let certificate = rec
            .chain
            .first()
            .and_then(|der| cert_info(der, rec.chain.len()));
        let (problem, problem_detail) = match &rec.verdict {
            Some(Err(e)) => {
                let self_signed = certificate.as_ref().is_some_and(|c| c.self_signed);
                (Some(classify(e, self_signed)), Some(e.to_string()))
            }
            _ => (None, None),
        };
        TlsInfo {
            version,
            cipher,
            certificate,
            problem,
            problem_detail,
        }
    }
}

fn classify(e: &rustls::Error, self_signed: bool) -> CertProblem {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                CertProblem::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                CertProblem::NotYetValid
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertProblem::WrongName
            }
            CertificateError::UnknownIssuer if self_signed => CertProblem::SelfSigned,
            CertificateError::UnknownIssuer => CertProblem::UnknownIssuer,
            CertificateError::Revoked => CertProblem::Revoked,
            _ => CertProblem::Other,
        },
        _ => CertProblem::Other,
    }
}

/// Parses the end-entity certificate for display.
pub fn cert_info(der: &CertificateDer<'_>, chain_len: usize) -> Option<CertInfo> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push((*d).to_string()),
                GeneralName::IPAddress(ip) => names.push(format_ip(ip)),
                _ => {}
            }
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let not_after = cert.validity().not_after.timestamp();
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: cert.validity().not_before.to_string(),
        not_after: cert.validity().not_after.to_string(),
        days_left: (not_after - now).div_euclid(86_400),
        self_signed: cert.subject() == cert.issuer(),
        chain_len,
    })
}

fn format_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => String::new(),
    }
}

/// The name to verify the certificate against.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host.trim().trim_end_matches('.');
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("\"{host}\" cannot be checked against a certificate: {e}"))
}
