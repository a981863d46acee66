//! A small SMTP conversation driver over tokio and rustls.
//!
//! It records every line sent and received into a [`Tape`] with a timestamp,
//! redacting secrets at the source: AUTH payloads are written as
//! `[redacted]`, and any line that contains the password (or one of the
//! encodings we sent) has it replaced, so even a server that echoes our
//! credentials cannot leak them into a transcript.
//!
//! Every read has a deadline and a size bound: a reply must complete within
//! the step's timeout, a line may be at most [`MAX_LINE`] bytes, and a reply
//! at most [`MAX_LINES`] lines. A silent, slow, endless or garbage-spewing
//! peer ends in a clear [`SmtpError`], never a hang.

use super::model::{CheckId, Dir, Event, TranscriptLine};
use super::tls::{CertRecord, TlsInfo, TlsSetup};
use crate::reply::{Reply, parse_line};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The longest reply line we accept. RFC 5321 allows 512 octets; real
/// servers exceed it a little, hostile ones without end.
pub const MAX_LINE: usize = 4096;
/// The most lines one reply may have.
pub const MAX_LINES: usize = 100;
/// How many of the first bytes a connection keeps for recognizing what the
/// peer speaks.
const SNIFF: usize = 256;

/// Why a conversation step did not produce a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    #[error("no complete reply within {secs} s")]
    Timeout { secs: u64, partial: String },
    #[error("the server closed the connection")]
    Closed { partial: String },
    #[error("a reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("a reply of more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("not an SMTP reply: {line}")]
    Malformed { line: String },
    #[error("network error: {0}")]
    Io(String),
    #[error("TLS error: {0}")]
    Tls(String),
}

impl SmtpError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, SmtpError::Timeout { .. })
    }
}

/// Records transcript lines for the check that is currently running on a
/// connection and forwards each line as an event.
pub struct Tape {
    start: Instant,
    tx: Option<UnboundedSender<Event>>,
    check: CheckId,
    lines: Vec<TranscriptLine>,
    secrets: Vec<Vec<u8>>,
}

impl Tape {
    pub fn new(start: Instant, tx: Option<UnboundedSender<Event>>, check: CheckId) -> Tape {
        Tape {
            start,
            tx,
            check,
            lines: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Adds a text that must never appear in a transcript, however short:
    /// a one-letter password is still a password.
    pub fn add_secret(&mut self, s: &str) {
        self.add_secret_bytes(s.as_bytes());
    }

    pub fn add_secret_bytes(&mut self, s: &[u8]) {
        if !s.is_empty() && !self.secrets.iter().any(|x| x == s) {
            self.secrets.push(s.to_vec());
            // Longest first, so a secret inside a longer one (the password
            // inside its quoted form) never leaves the rest behind.
            self.secrets.sort_by_key(|x| std::cmp::Reverse(x.len()));
        }
    }

    /// The raw bytes with every secret replaced by `[redacted]`, in one
    /// pass over the input (a marker already there is kept whole, so text
    /// redacted once comes out the same again). Matching runs on the raw
    /// bytes, before they are made printable, so a password with a tab or
    /// DEL in it is caught as the server echoed it.
    pub fn redact_bytes(&self, line: &[u8]) -> Vec<u8> {
        redact_with(&self.secrets, line)
    }

    /// The line with every secret replaced by `[redacted]`.
    pub fn redact(&self, line: &str) -> String {
        if self.secrets.is_empty() {
            return line.to_string();
        }
        String::from_utf8_lossy(&self.redact_bytes(line.as_bytes())).into_owned()
    }

    /// Raw server bytes as they may be kept: redacted, then printable.
    pub fn printable(&self, raw: &[u8]) -> String {
        printable(&self.redact_bytes(raw))
    }

    /// Records a line (redacted) and returns what was recorded.
    pub fn record(&mut self, dir: Dir, line: &str) -> String {
        let line = self.redact(line);
        let entry = TranscriptLine {
            t_ms: self.start.elapsed().as_millis() as u64,
            dir,
            line: line.clone(),
        };
        if let Some(tx) = &self.tx {
            let _ = tx.send(Event::Transcript(self.check, entry.clone()));
        }
        self.lines.push(entry);
        line
    }

    /// Hands over the lines recorded so far and starts recording for `next`.
    pub fn switch(&mut self, next: CheckId) -> Vec<TranscriptLine> {
        self.check = next;
        std::mem::take(&mut self.lines)
    }

    pub fn take(&mut self) -> Vec<TranscriptLine> {
        std::mem::take(&mut self.lines)
    }

    pub fn check(&self) -> CheckId {
        self.check
    }
}

const MARK: &[u8] = b"[redacted]";

fn redact_with(secrets: &[Vec<u8>], line: &[u8]) -> Vec<u8> {
    if secrets.is_empty() {
        return line.to_vec();
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        if rest.starts_with(MARK) {
            out.extend_from_slice(MARK);
            i += MARK.len();
        } else if let Some(s) = secrets.iter().find(|s| rest.starts_with(s)) {
            out.extend_from_slice(MARK);
            i += s.len();
        } else {
            out.push(line[i]);
            i += 1;
        }
    }
    out
}

/// A TCP stream that keeps the first bytes it read, so that a failed TLS
/// handshake can tell "the server spoke plain SMTP" from other failures.
/// The record is shared, so it survives a handshake that consumed the
/// stream.
pub struct Sniff<T> {
    inner: T,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl<T> Sniff<T> {
    pub fn new(inner: T) -> Sniff<T> {
        Sniff {
            inner,
            seen: Arc::default(),
        }
    }
    /// A handle on the bytes seen, valid after the stream is gone.
    pub fn record(&self) -> Arc<Mutex<Vec<u8>>> {
        self.seen.clone()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Sniff<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let mut seen = this.seen.lock().unwrap_or_else(|p| p.into_inner());
            let room = SNIFF.saturating_sub(seen.len());
            let new = &buf.filled()[before..];
            seen.extend_from_slice(&new[..new.len().min(room)]);
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Sniff<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

type Tcp = Sniff<TcpStream>;

enum Stream {
    Plain(Tcp),
    Tls(Box<TlsStream<Tcp>>),
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }
    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Stream::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
        }
    }
}

/// How a TCP connect ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    Refused,
    TimedOut,
    Unreachable,
    Other,
}

impl ConnectFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectFailure::Refused => "refused",
            ConnectFailure::TimedOut => "timed-out",
            ConnectFailure::Unreachable => "unreachable",
            ConnectFailure::Other => "error",
        }
    }
}

/// Connects with a timeout, telling refused, timed out and unreachable apart.
pub async fn connect(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, (ConnectFailure, String)> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => Err((
            ConnectFailure::TimedOut,
            format!("no answer within {} s", timeout.as_secs()),
        )),
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => {
            use std::io::ErrorKind as K;
            let kind = match e.kind() {
                K::ConnectionRefused => ConnectFailure::Refused,
                K::TimedOut => ConnectFailure::TimedOut,
                K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => {
                    ConnectFailure::Unreachable
                }
                _ => ConnectFailure::Other,
            };
            Err((kind, e.to_string()))
        }
    }
}

/// One SMTP connection.
pub struct Session {
    stream: Option<Stream>,
    sniffed: Arc<Mutex<Vec<u8>>>,
    buf: Vec<u8>,
    pub tape: Tape,
    timeout: Duration,
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

impl Session {
    pub fn new(tcp: TcpStream, tape: Tape, timeout: Duration) -> std::io::Result<Session> {
        let peer = tcp.peer_addr()?;
        let local = tcp.local_addr()?;
        let sniff = Sniff::new(tcp);
        Ok(Session {
            sniffed: sniff.record(),
            stream: Some(Stream::Plain(sniff)),
            buf: Vec::new(),
            tape,
            timeout,
            peer,
            local,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Some(Stream::Tls(_)))
    }

    /// A live handle on the first bytes the peer sent.
    pub fn sniff_record(&self) -> Arc<Mutex<Vec<u8>>> {
        self.sniffed.clone()
    }

    /// The first bytes the peer sent on the raw connection.
    pub fn sniffed(&self) -> Vec<u8> {
        self.sniffed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The first line the peer sent on the raw connection, redacted and
    /// printable, as it may be shown (a banner in a finding).
    pub fn sniffed_line(&self) -> String {
        let raw = self.tape.redact_bytes(&self.sniffed());
        let end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
        let mut line = &raw[..end];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        printable(line)
    }

    /// Bytes received but not yet read as a line.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Reads one raw line (for line protocols other than SMTP, such as IMAP
    /// and POP3), recorded and redacted, within the timeout.
    pub async fn read_text_line(&mut self) -> Result<String, SmtpError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let line = self.read_line(deadline, &[]).await?;
        Ok(self.tape.record(Dir::Server, &line))
    }

    /// Reads one complete reply within the timeout.
    pub async fn read_reply(&mut self) -> Result<Reply, SmtpError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut raw: Vec<String> = Vec::new();
        loop {
            // Everything kept of a server line is the redacted text, so a
            // server echoing our credentials cannot leak them through a
            // reply, an error or a report.
            let line = self.read_line(deadline, &raw).await?;
            let line = self.tape.record(Dir::Server, &line);
            let Some(parsed) = parse_line(&line) else {
                return Err(SmtpError::Malformed { line });
            };
            let last = parsed.last;
            raw.push(line);
            if last {
                return Reply::from_lines(&raw).ok_or_else(|| SmtpError::Malformed {
                    line: raw.last().cloned().unwrap_or_default(),
                });
            }
            if raw.len() >= MAX_LINES {
                return Err(SmtpError::TooManyLines);
            }
        }
    }

    async fn read_line(
        &mut self,
        deadline: tokio::time::Instant,
        so_far: &[String],
    ) -> Result<String, SmtpError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                return Ok(self.tape.printable(&line));
            }
            if self.buf.len() > MAX_LINE {
                let preview = cut(&self.tape.printable(&self.buf), 80);
                self.tape
                    .record(Dir::Server, &format!("{preview}… (line too long, cut)"));
                self.buf.clear();
                return Err(SmtpError::LineTooLong);
            }
            let Some(stream) = self.stream.as_mut() else {
                let partial = self.partial(so_far);
                return Err(SmtpError::Closed { partial });
            };
            let mut chunk = [0u8; 2048];
            let n = match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                Err(_) => {
                    let partial = self.cut_short(so_far, "incomplete");
                    let secs = self.timeout.as_secs();
                    return Err(SmtpError::Timeout { secs, partial });
                }
                Ok(Err(e)) => return Err(SmtpError::Io(e.to_string())),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                let partial = self.cut_short(so_far, "connection closed mid-line");
                self.stream = None;
                return Err(SmtpError::Closed { partial });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// What a reply had so far, redacted and cut, for an error.
    fn partial(&self, so_far: &[String]) -> String {
        let mut p = so_far.join("\n");
        if !self.buf.is_empty() {
            if !p.is_empty() {
                p.push('\n');
            }
            p.push_str(&self.tape.printable(&self.buf));
        }
        cut(&p, 400)
    }

    /// A reply that ended early: the unfinished line goes into the
    /// transcript with `why`; returns what the reply had so far.
    fn cut_short(&mut self, so_far: &[String], why: &str) -> String {
        let p = self.partial(so_far);
        if !self.buf.is_empty() {
            let shown = cut(&self.tape.printable(&self.buf), 200);
            self.tape.record(Dir::Server, &format!("{shown} ({why})"));
        }
        p
    }

    /// Sends one command line and records it.
    pub async fn send(&mut self, line: &str) -> Result<(), SmtpError> {
        self.tape.record(Dir::Client, line);
        self.write(line).await
    }

    /// Sends a line that carries a secret; the transcript shows `shown`.
    pub async fn send_secret(&mut self, line: &str, shown: &str) -> Result<(), SmtpError> {
        self.tape.record(Dir::Client, shown);
        self.write(line).await
    }

    /// Sends raw data (a message after DATA); the transcript shows `shown`.
    pub async fn send_bytes(&mut self, data: &[u8], shown: &str) -> Result<(), SmtpError> {
        self.tape.record(Dir::Client, shown);
        self.write_raw(data).await
    }

    /// Sends several commands in one write (RFC 2920 PIPELINING).
    pub async fn send_pipelined(&mut self, lines: &[&str]) -> Result<(), SmtpError> {
        let mut data = String::new();
        for l in lines {
            self.tape.record(Dir::Client, l);
            data.push_str(l);
            data.push_str("\r\n");
        }
        self.write_raw(data.as_bytes()).await
    }

    async fn write(&mut self, line: &str) -> Result<(), SmtpError> {
        let mut data = Vec::with_capacity(line.len() + 2);
        data.extend_from_slice(line.as_bytes());
        data.extend_from_slice(b"\r\n");
        self.write_raw(&data).await
    }

    async fn write_raw(&mut self, data: &[u8]) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let Some(stream) = self.stream.as_mut() else {
            return Err(SmtpError::Closed {
                partial: String::new(),
            });
        };
        match tokio::time::timeout(timeout, stream.write_all(data)).await {
            Err(_) => Err(SmtpError::Timeout {
                secs: timeout.as_secs(),
                partial: String::new(),
            }),
            Ok(Err(e)) => Err(SmtpError::Io(e.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Sends a command and reads its reply.
    pub async fn command(&mut self, line: &str) -> Result<Reply, SmtpError> {
        self.send(line).await?;
        self.read_reply().await
    }

    /// Starts TLS on the connection (after a 220 to STARTTLS, or right away
    /// for implicit TLS). The handshake is bounded by the timeout. A
    /// certificate problem does not fail the handshake; it is in the
    /// returned [`TlsInfo`].
    pub async fn start_tls(&mut self, setup: &TlsSetup, host: &str) -> Result<TlsInfo, SmtpError> {
        let record = Arc::new(Mutex::new(CertRecord::default()));
        let config = setup
            .client_config(record.clone())
            .map_err(SmtpError::Tls)?;
        let name = super::tls::server_name(host).map_err(SmtpError::Tls)?;
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            return Err(SmtpError::Tls(
                "the connection is already encrypted or closed".into(),
            ));
        };
        // Bytes that arrived before the handshake would otherwise be taken
        // as part of the encrypted session (the STARTTLS injection flaw).
        self.buf.clear();
        let connector = TlsConnector::from(config);
        match tokio::time::timeout(self.timeout, connector.connect(name, tcp)).await {
            Err(_) => Err(SmtpError::Timeout {
                secs: self.timeout.as_secs(),
                partial: String::new(),
            }),
            Ok(Err(e)) => Err(SmtpError::Tls(e.to_string())),
            Ok(Ok(tls)) => {
                let info = TlsInfo::from_connection(tls.get_ref().1, &record);
                self.stream = Some(Stream::Tls(Box::new(tls)));
                Ok(info)
            }
        }
    }

    /// Ends the transaction and the session: RSET and QUIT in one write
    /// when the server allows PIPELINING (QUIT may end a pipelined group,
    /// RFC 2920), one after the other otherwise. Errors do not matter here.
    pub async fn rset_and_quit(&mut self, pipelining: bool) {
        if self.stream.is_none() {
            return;
        }
        let saved = self.timeout;
        self.timeout = saved.min(Duration::from_secs(2));
        if pipelining {
            if self.send_pipelined(&["RSET", "QUIT"]).await.is_ok()
                && self.read_reply().await.is_ok()
            {
                let _ = self.read_reply().await;
            }
        } else if self.command("RSET").await.is_ok() && self.send("QUIT").await.is_ok() {
            let _ = self.read_reply().await;
        }
        self.timeout = saved;
        self.stream = None;
    }

    /// After a pipelined group that ended with RSET and QUIT: reads their
    /// replies briefly (they come with the others) and closes.
    pub async fn finish_quit(&mut self) {
        let saved = self.timeout;
        self.timeout = saved.min(Duration::from_millis(500));
        if self.read_reply().await.is_ok() {
            let _ = self.read_reply().await;
        }
        self.timeout = saved;
        self.stream = None;
    }

    /// Says QUIT and closes without waiting for the reply: for sessions
    /// whose end teaches nothing (the port survey).
    pub async fn quit_nowait(&mut self) {
        if self.stream.is_some() {
            let _ = self.send("QUIT").await;
            self.stream = None;
        }
    }

    /// Says QUIT and reads the answer briefly; errors do not matter here.
    pub async fn quit(&mut self) {
        if self.stream.is_none() {
            return;
        }
        let saved = self.timeout;
        self.timeout = saved.min(Duration::from_secs(2));
        if self.send("QUIT").await.is_ok() {
            let _ = self.read_reply().await;
        }
        self.timeout = saved;
        self.stream = None;
    }
}

/// Text for a transcript: valid UTF-8 as is, control bytes and invalid
/// sequences escaped so binary garbage stays readable and one line.
pub fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The first `max` characters (secrets are redacted before a cut, so a
/// cut never leaves half a secret behind).
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// What a peer that did not greet like an SMTP server seems to be.
pub fn recognize_service(first: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&first[..first.len().min(64)]);
    let t = text.trim_start();
    if first.len() >= 3 && matches!(first[0], 0x15 | 0x16) && first[1] == 0x03 {
        return Some("a TLS (SSL) service");
    }
    if t.starts_with("SSH-") {
        return Some("an SSH server");
    }
    if t.starts_with("HTTP/") || t.starts_with("<!DOCTYPE") || t.starts_with("<html") {
        return Some("a web (HTTP) server");
    }
    if t.starts_with("* OK") || t.starts_with("* PREAUTH") || t.starts_with("* BYE") {
        return Some("an IMAP (incoming mail) server");
    }
    if t.starts_with("+OK") || t.starts_with("-ERR") {
        return Some("a POP3 (incoming mail) server");
    }
    if t.starts_with("220") && t.to_ascii_lowercase().contains("ftp") {
        return Some("an FTP server");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tape_redacts_secrets_anywhere_in_a_line() {
        let mut t = Tape::new(Instant::now(), None, CheckId::Auth);
        t.add_secret("hunter2-pass");
        t.add_secret("abc");
        t.record(Dir::Server, "535 bad password hunter2-pass for you");
        t.record(Dir::Server, "250 abc is short but still a secret");
        let lines = t.take();
        assert_eq!(lines[0].line, "535 bad password [redacted] for you");
        assert_eq!(lines[1].line, "250 [redacted] is short but still a secret");
    }

    #[test]
    fn raw_bytes_are_matched_before_they_are_made_printable() {
        let mut t = Tape::new(Instant::now(), None, CheckId::Auth);
        t.add_secret("a\tb\x7fc");
        // Printable first would turn the tab into a space and DEL into
        // an escape, and the secret would no longer match.
        assert_eq!(
            t.printable(b"535 no a\tb\x7fc here\t!"),
            "535 no [redacted] here !"
        );
        // One pass: a secret that is part of the marker does not shred it.
        let mut t = Tape::new(Instant::now(), None, CheckId::Auth);
        t.add_secret("e");
        assert_eq!(t.redact("see"), "s[redacted][redacted]");
        assert_eq!(t.redact(&t.redact("see")), "s[redacted][redacted]");
    }

    #[test]
    fn printable_escapes_binary() {
        assert_eq!(printable(b"220 ok"), "220 ok");
        assert_eq!(printable(&[0x16, 0x03, 0x01, b'a']), "\\x16\\x03\\x01a");
        assert_eq!(printable(&[0xff, b'x']), "\u{fffd}x");
    }

    #[test]
    fn recognizes_other_services() {
        assert_eq!(
            recognize_service(b"SSH-2.0-OpenSSH_9.2p1"),
            Some("an SSH server")
        );
        assert_eq!(
            recognize_service(b"* OK [CAPABILITY IMAP4rev1] ready"),
            Some("an IMAP (incoming mail) server")
        );
        assert_eq!(
            recognize_service(b"+OK Dovecot ready."),
            Some("a POP3 (incoming mail) server")
        );
        assert_eq!(
            recognize_service(b"HTTP/1.1 400 Bad Request"),
            Some("a web (HTTP) server")
        );
        assert_eq!(
            recognize_service(&[0x15, 0x03, 0x03, 0, 2]),
            Some("a TLS (SSL) service")
        );
        assert_eq!(recognize_service(b"220 mail.example.com ESMTP"), None);
    }
}
