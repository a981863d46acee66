//! A small HTTP/1.1 GET over TLS for autoconfig files: our resolver, our
//! timeouts, our certificate verification, bounded in size, and no
//! redirect followed (a 3xx comes back as such, for the caller to show).
//!
//! The answer is read within one deadline; headers may take at most
//! [`MAX_HEAD`] bytes and the body at most [`MAX_BODY`]; a bigger answer is
//! an error, not a truncated file.

use crate::probe::smtp;
use crate::probe::tls::{CertRecord, TlsInfo, TlsSetup, server_name};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

/// The largest body accepted (an autoconfig file is a few KiB).
pub const MAX_BODY: usize = 64 * 1024;
/// The largest status line plus headers accepted.
pub const MAX_HEAD: usize = 8 * 1024;

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    /// The `Location` header of a redirect (made printable).
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// GET `https://host/path` from `addr`, verifying the certificate for
/// `host`. Everything (connect, handshake, request, answer) fits in
/// `timeout`. An untrusted certificate is an error: nothing from such a
/// server is read.
pub async fn get(
    addr: SocketAddr,
    host: &str,
    path: &str,
    setup: &TlsSetup,
    timeout: Duration,
) -> Result<Fetched, String> {
    match tokio::time::timeout(timeout, get_inner(addr, host, path, setup, timeout)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no complete answer within {} s", timeout.as_secs())),
    }
}

async fn get_inner(
    addr: SocketAddr,
    host: &str,
    path: &str,
    setup: &TlsSetup,
    timeout: Duration,
) -> Result<Fetched, String> {
    let tcp = smtp::connect(addr, timeout)
        .await
        .map_err(|(kind, msg)| format!("{} ({msg})", kind.as_str()))?;
    let record = Arc::new(Mutex::new(CertRecord::default()));
    let config = setup.client_config(record.clone())?;
    let name = server_name(host)?;
    let mut tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let info = TlsInfo::from_connection(tls.get_ref().1, &record);
    if let Some(p) = &info.problem {
        return Err(format!(
            "the certificate is not valid for {host} ({}{})",
            p.as_str(),
            info.problem_detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ));
    }
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: smtp-doctor/{}\r\nAccept: application/xml, text/xml\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("sending the request failed: {e}"))?;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(done) = complete(&buf)? {
            return Ok(done);
        }
        let n = match tls.read(&mut chunk).await {
            Ok(n) => n,
            // A server that closes without TLS close_notify: the data read
            // so far is what there is.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("reading the answer failed: {e}")),
        };
        if n == 0 {
            return finish_at_eof(&buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_HEAD + MAX_BODY + 1024 {
            return Err(format!(
                "the answer is larger than {} KiB; not read further",
                MAX_BODY / 1024
            ));
        }
    }
}

struct Head {
    status: u16,
    location: Option<String>,
    content_type: Option<String>,
    length: Option<usize>,
    chunked: bool,
    body_start: usize,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err(format!(
                "the answer's headers are longer than {} KiB",
                MAX_HEAD / 1024
            ));
        }
        return Ok(None);
    };
    if end > MAX_HEAD {
        return Err(format!(
            "the answer's headers are longer than {} KiB",
            MAX_HEAD / 1024
        ));
    }
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut words = first.split_whitespace();
    let version = words.next().unwrap_or_default();
    let status = words.next().and_then(|s| s.parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        return Err(format!(
            "not an HTTP answer: {}",
            smtp::printable(&first.as_bytes()[..first.len().min(80)])
        ));
    };
    let mut head = Head {
        status,
        location: None,
        content_type: None,
        length: None,
        chunked: false,
        body_start: end + 4,
    };
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "location" => head.location = Some(smtp::printable(&v.as_bytes()[..v.len().min(300)])),
            "content-type" => head.content_type = Some(smtp::printable(v.as_bytes())),
            "content-length" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| format!("a Content-Length that is not a number: {v:.40}"))?;
                if n > MAX_BODY {
                    return Err(format!(
                        "the file is {n} bytes, more than the {} KiB accepted",
                        MAX_BODY / 1024
                    ));
                }
                head.length = Some(n);
            }
            "transfer-encoding" => head.chunked = v.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    Ok(Some(head))
}

fn fetched(h: &Head, body: Vec<u8>) -> Fetched {
    Fetched {
        status: h.status,
        location: h.location.clone(),
        content_type: h.content_type.clone(),
        body,
    }
}

/// The answer, once the bytes so far hold all of it.
fn complete(buf: &[u8]) -> Result<Option<Fetched>, String> {
    let Some(h) = parse_head(buf)? else {
        return Ok(None);
    };
    let rest = &buf[h.body_start..];
    if h.chunked {
        return Ok(dechunk(rest)?.map(|b| fetched(&h, b)));
    }
    if let Some(n) = h.length
        && rest.len() >= n
    {
        return Ok(Some(fetched(&h, rest[..n].to_vec())));
    }
    if rest.len() > MAX_BODY {
        return Err(format!(
            "the answer is larger than {} KiB; not read further",
            MAX_BODY / 1024
        ));
    }
    Ok(None)
}

fn finish_at_eof(buf: &[u8]) -> Result<Fetched, String> {
    let Some(h) = parse_head(buf)? else {
        return Err(if buf.is_empty() {
            "the server closed the connection without an answer".into()
        } else {
            "the server closed the connection in the middle of the headers".into()
        });
    };
    let rest = &buf[h.body_start..];
    if h.chunked {
        return Err("the server closed the connection in the middle of the file".into());
    }
    if let Some(n) = h.length
        && rest.len() < n
    {
        return Err(format!(
            "the server closed the connection after {} of {n} bytes",
            rest.len()
        ));
    }
    Ok(fetched(&h, rest.to_vec()))
}

/// Decodes a chunked body once its last chunk has arrived.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return if data.len() > 64 {
                Err("a malformed chunk size".into())
            } else {
                Ok(None)
            };
        };
        let line = String::from_utf8_lossy(&data[..eol]);
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(hex, 16).map_err(|_| "a malformed chunk size".to_string())?;
        if size > MAX_BODY || out.len() + size > MAX_BODY {
            return Err(format!(
                "the answer is larger than {} KiB; not read further",
                MAX_BODY / 1024
            ));
        }
        let start = eol + 2;
        if size == 0 {
            return Ok(Some(out));
        }
        if data.len() < start + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_chunked_bodies() {
        let a = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert_eq!(complete(a).unwrap().unwrap().body, b"abc");
        let c =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n";
        assert_eq!(complete(c).unwrap().unwrap().body, b"abc");
        let part = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n";
        assert!(complete(part).unwrap().is_none());
    }

    #[test]
    fn oversized_and_broken_answers_are_errors() {
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(complete(big.as_bytes()).unwrap_err().contains("KiB"));
        let huge_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n";
        assert!(complete(huge_chunk).is_err());
        assert!(
            complete(b"SSH-2.0-OpenSSH\r\n\r\n")
                .unwrap_err()
                .contains("not an HTTP")
        );
        let redirect =
            b"HTTP/1.1 301 Moved\r\nLocation: http://evil.test/x\r\nContent-Length: 0\r\n\r\n";
        let r = complete(redirect).unwrap().unwrap();
        assert_eq!(
            (r.status, r.location.as_deref()),
            (301, Some("http://evil.test/x"))
        );
    }
}
