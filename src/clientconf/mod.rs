//! Settings for the user's mail program: from one [`Settings`], the text to
//! paste into Thunderbird, Outlook, Apple Mail, msmtp, a Postfix relay,
//! PHPMailer, WordPress (WP Mail SMTP), Nodemailer, Python, Django or a
//! printer's web page. Pure: no file, network or terminal is touched.
//!
//! Every value from the user is quoted for its target format (see
//! [`escape`]); the password appears only when [`Options::include_password`]
//! is set, otherwise a placeholder or, where the client can, a read from an
//! environment variable.

pub mod escape;

use crate::settings::{IncomingProtocol, Security, Settings, check_address, check_host};
use serde::Serialize;
use std::fmt;

/// The programs we write settings for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Client {
    Thunderbird,
    Outlook,
    AppleMail,
    Msmtp,
    PostfixRelay,
    Phpmailer,
    Wordpress,
    Nodemailer,
    Python,
    Django,
    Printer,
}

impl Client {
    pub const ALL: [Client; 11] = [
        Client::Thunderbird,
        Client::Outlook,
        Client::AppleMail,
        Client::Msmtp,
        Client::PostfixRelay,
        Client::Phpmailer,
        Client::Wordpress,
        Client::Nodemailer,
        Client::Python,
        Client::Django,
        Client::Printer,
    ];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Client::Thunderbird => "thunderbird",
            Client::Outlook => "outlook",
            Client::AppleMail => "apple-mail",
            Client::Msmtp => "msmtp",
            Client::PostfixRelay => "postfix-relay",
            Client::Phpmailer => "phpmailer",
            Client::Wordpress => "wordpress",
            Client::Nodemailer => "nodemailer",
            Client::Python => "python",
            Client::Django => "django",
            Client::Printer => "printer",
        }
    }

    /// What a person calls it.
    pub fn label(self) -> &'static str {
        match self {
            Client::Thunderbird => "Thunderbird (autoconfig XML)",
            Client::Outlook => "Outlook",
            Client::AppleMail => "Apple Mail",
            Client::Msmtp => "msmtp (~/.msmtprc)",
            Client::PostfixRelay => "Postfix relay (main.cf + sasl_passwd)",
            Client::Phpmailer => "PHPMailer (PHP)",
            Client::Wordpress => "WordPress (WP Mail SMTP, wp-config.php)",
            Client::Nodemailer => "Nodemailer (Node.js)",
            Client::Python => "Python (smtplib)",
            Client::Django => "Django (settings.py)",
            Client::Printer => "Printer or scanner (scan to email)",
        }
    }

    pub fn parse(s: &str) -> Option<Client> {
        let s = s.trim().to_ascii_lowercase();
        let alias = match s.as_str() {
            "apple" | "mail.app" | "applemail" => "apple-mail",
            "postfix" => "postfix-relay",
            "wp" | "wp-mail-smtp" => "wordpress",
            "node" => "nodemailer",
            "smtplib" => "python",
            "scanner" => "printer",
            other => other,
        };
        Client::ALL.into_iter().find(|c| c.name() == alias)
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the password is handed over.
#[derive(Clone, Debug)]
pub struct Options {
    /// Write the password itself (from the settings) into the output.
    pub include_password: bool,
    /// The environment variable the generated code reads the password
    /// from, where the client can read one.
    pub password_env: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            include_password: false,
            password_env: DEFAULT_PASSWORD_ENV.into(),
        }
    }
}

pub const DEFAULT_PASSWORD_ENV: &str = "SMTP_PASSWORD";
/// Stands where the password goes when it is not included.
pub const PLACEHOLDER: &str = "PASTE-YOUR-PASSWORD-HERE";

/// One file (or snippet) to paste.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportFile {
    pub name: String,
    pub content: String,
}

/// What [`generate`] returns: the files and what to do with them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Export {
    pub client: Client,
    pub files: Vec<ExportFile>,
    pub notes: Vec<String>,
}

impl Export {
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The settings in the shape every generator uses, checked once.
struct Values<'a> {
    host: &'a str,
    port: u16,
    security: Security,
    auth: bool,
    login: &'a str,
    sender: &'a str,
    ca_file: Option<String>,
    /// The password to write, when asked to.
    password: Option<&'a str>,
    env: &'a str,
    domain: String,
}

fn values<'a>(s: &'a Settings, o: &'a Options) -> Result<Values<'a>, String> {
    let host = s.server_name();
    if host.is_empty() {
        return Err("The outgoing (SMTP) server is missing (--server).".into());
    }
    check_host(host)?;
    if s.port == 0 {
        return Err("Port 0 is not a real port. Outgoing mail uses 587, 465 or 25.".into());
    }
    let login = s.effective_login();
    if s.auth && login.is_empty() {
        return Err(
            "Authentication is on but there is no login (--user), or use --no-auth.".into(),
        );
    }
    let sender = s.effective_sender();
    if !sender.is_empty() {
        check_address(sender)?;
    }
    escape::env_name(&o.password_env)?;
    let password = if o.include_password && s.auth {
        if s.password.is_empty() {
            return Err(
                "--include-password needs a password (--password-env VAR or --password-stdin)."
                    .into(),
            );
        }
        Some(s.password.expose())
    } else {
        None
    };
    let domain = sender
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| host.to_string());
    Ok(Values {
        host,
        port: s.port,
        security: s.security,
        auth: s.auth,
        login,
        sender,
        ca_file: s.ca_file.as_ref().map(|p| p.to_string_lossy().into_owned()),
        password,
        env: &o.password_env,
        domain,
    })
}

/// The settings for one client, or why they cannot be written.
pub fn generate(settings: &Settings, client: Client, opts: &Options) -> Result<Export, String> {
    let v = values(settings, opts)?;
    let mut notes = Vec::new();
    if v.auth && v.security == Security::None {
        notes.push(
            "These settings send the password without encryption: anyone on the network path can read it. Use STARTTLS (587) or SSL/TLS (465) if the server offers it."
                .to_string(),
        );
    }
    if v.sender.is_empty()
        && matches!(
            client,
            Client::Msmtp
                | Client::Phpmailer
                | Client::Wordpress
                | Client::Django
                | Client::Printer
                | Client::Python
        )
    {
        notes.push(
            "No sender address was given (--from or --account): fill in the From address yourself."
                .into(),
        );
    }
    let files = match client {
        Client::Thunderbird => thunderbird(&v, settings, &mut notes),
        Client::Outlook => vec![outlook(&v)],
        Client::AppleMail => vec![apple_mail(&v)],
        Client::Msmtp => vec![msmtp(&v, &mut notes)?],
        Client::PostfixRelay => postfix(&v, &mut notes)?,
        Client::Phpmailer => vec![phpmailer(&v, &mut notes)],
        Client::Wordpress => vec![wordpress(&v, &mut notes)],
        Client::Nodemailer => vec![nodemailer(&v, &mut notes)],
        Client::Python => vec![python(&v, &mut notes)],
        Client::Django => vec![django(&v, &mut notes)],
        Client::Printer => vec![printer(&v, &mut notes)],
    };
    if v.password.is_some() {
        notes.push(
            "The password is written in these settings: keep the file private (readable only by you or the program)."
                .into(),
        );
    }
    Ok(Export {
        client,
        files,
        notes,
    })
}

fn file(name: &str, content: String) -> ExportFile {
    ExportFile {
        name: name.into(),
        content,
    }
}

fn thunderbird(v: &Values, s: &Settings, notes: &mut Vec<String>) -> Vec<ExportFile> {
    let x = escape::xml;
    let socket = |sec: Security| match sec {
        Security::Tls => "SSL",
        Security::Starttls => "STARTTLS",
        Security::None => "plain",
    };
    let login = if v.login.is_empty() {
        "%EMAILADDRESS%".to_string()
    } else {
        x(v.login)
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<clientConfig version=\"1.1\">\n");
    out.push_str(&format!("  <emailProvider id=\"{}\">\n", x(&v.domain)));
    out.push_str(&format!("    <domain>{}</domain>\n", x(&v.domain)));
    out.push_str(&format!(
        "    <displayName>{}</displayName>\n",
        x(&v.domain)
    ));
    out.push_str(&format!(
        "    <displayShortName>{}</displayShortName>\n",
        x(&v.domain)
    ));
    if let Some(inc) = &s.incoming {
        let kind = match inc.protocol {
            IncomingProtocol::Imap => "imap",
            IncomingProtocol::Pop3 => "pop3",
        };
        out.push_str(&format!("    <incomingServer type=\"{kind}\">\n"));
        out.push_str(&format!(
            "      <hostname>{}</hostname>\n",
            x(inc.server.trim())
        ));
        out.push_str(&format!("      <port>{}</port>\n", inc.port));
        out.push_str(&format!(
            "      <socketType>{}</socketType>\n",
            socket(inc.security)
        ));
        out.push_str("      <authentication>password-cleartext</authentication>\n");
        out.push_str(&format!("      <username>{login}</username>\n"));
        out.push_str("    </incomingServer>\n");
    } else {
        notes.push("Thunderbird also needs the incoming (IMAP/POP3) server: add --incoming-server to include it.".into());
    }
    out.push_str("    <outgoingServer type=\"smtp\">\n");
    out.push_str(&format!("      <hostname>{}</hostname>\n", x(v.host)));
    out.push_str(&format!("      <port>{}</port>\n", v.port));
    out.push_str(&format!(
        "      <socketType>{}</socketType>\n",
        socket(v.security)
    ));
    if v.auth {
        out.push_str("      <authentication>password-cleartext</authentication>\n");
        out.push_str(&format!("      <username>{login}</username>\n"));
    } else {
        out.push_str("      <authentication>none</authentication>\n");
    }
    out.push_str("    </outgoingServer>\n");
    out.push_str("  </emailProvider>\n");
    out.push_str("</clientConfig>\n");
    notes.push(format!(
        "Publish this file as https://autoconfig.{}/mail/config-v1.1.xml (or https://{}/.well-known/autoconfig/mail/config-v1.1.xml) and Thunderbird fills in the account by itself; the password is typed in Thunderbird.",
        escape::printable(&v.domain),
        escape::printable(&v.domain)
    ));
    vec![file("config-v1.1.xml", out)]
}

fn password_for_sheet(v: &Values) -> String {
    match v.password {
        Some(p) => escape::printable(p),
        None => "(your password: type it in)".into(),
    }
}

/// `label  value` lines, aligned; a long label puts its value on the next line.
fn sheet(rows: &[(String, String)]) -> String {
    const WIDEST: usize = 44;
    let width = rows
        .iter()
        .filter(|(_, val)| !val.is_empty())
        .map(|(k, _)| k.chars().count())
        .filter(|&w| w <= WIDEST)
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(k, val)| {
            if val.is_empty() {
                format!("{k}\n")
            } else if k.chars().count() > width {
                format!("  {k}\n  {:width$}  {val}\n", "")
            } else {
                format!("  {k:<width$}  {val}\n")
            }
        })
        .collect()
}

fn row(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

fn heading(k: &str) -> (String, String) {
    (k.to_string(), String::new())
}

fn outlook(v: &Values) -> ExportFile {
    let p = escape::printable;
    let method = match v.security {
        Security::Tls => "SSL/TLS",
        Security::Starttls => "STARTTLS",
        Security::None => "None",
    };
    let classic = match v.security {
        Security::Tls => "SSL/TLS (older versions: SSL)",
        Security::Starttls => "STARTTLS (older versions: TLS)",
        Security::None => "None",
    };
    let mut rows = vec![
        heading(
            "Outlook: Add account > Advanced options > Let me set up my account manually > IMAP (or POP)",
        ),
        heading("Outgoing mail"),
        row("Server", p(v.host)),
        row("Port", v.port.to_string()),
        row("Encryption method", method),
        row(
            "Require logon using Secure Password Authentication (SPA)",
            "off",
        ),
    ];
    if v.auth {
        rows.push(row("User name", p(v.login)));
        rows.push(row("Password", password_for_sheet(v)));
    }
    rows.push(heading(
        "Classic Outlook, Account Settings > Change > More Settings",
    ));
    rows.push(row(
        "Outgoing Server tab: My outgoing server (SMTP) requires authentication",
        if v.auth { "on" } else { "off" },
    ));
    if v.auth {
        rows.push(row(
            "  Use same settings as my incoming mail server",
            format!("on if the incoming login is also {}", p(v.login)),
        ));
    }
    rows.push(row(
        "Advanced tab: Outgoing server (SMTP)",
        v.port.to_string(),
    ));
    rows.push(row(
        "  Use the following type of encrypted connection",
        classic,
    ));
    if !v.sender.is_empty() {
        rows.push(row("Email address", p(v.sender)));
    }
    file("outlook.txt", sheet(&rows))
}

fn apple_mail(v: &Values) -> ExportFile {
    let p = escape::printable;
    let mut rows = vec![
        heading(
            "Mail > Settings (Preferences) > Accounts > Server Settings > Outgoing Mail Account > Edit SMTP Server List",
        ),
        row("Description", p(v.host)),
        row("Host Name", p(v.host)),
    ];
    if v.auth {
        rows.push(row("User Name", p(v.login)));
        rows.push(row("Password", password_for_sheet(v)));
    }
    rows.push(row("Automatically manage connection settings", "off"));
    rows.push(row("Port", v.port.to_string()));
    rows.push(row(
        "Use TLS/SSL",
        match v.security {
            Security::None => "off",
            _ => "on",
        },
    ));
    rows.push(row(
        "Authentication",
        if v.auth { "Password" } else { "None" },
    ));
    rows.push(heading("Advanced"));
    rows.push(row(
        "Allow insecure authentication",
        if v.auth && v.security == Security::None {
            "on (the server offers no encryption)"
        } else {
            "off"
        },
    ));
    if !v.sender.is_empty() {
        rows.push(row("Email Address (account)", p(v.sender)));
    }
    file("apple-mail.txt", sheet(&rows))
}

fn printer(v: &Values, notes: &mut Vec<String>) -> ExportFile {
    let p = escape::printable;
    let enc = match v.security {
        Security::Tls => "SSL/TLS (sometimes called SSL, SMTPS or \"TLS on connect\")",
        Security::Starttls => "STARTTLS (sometimes called TLS)",
        Security::None => "None / Off",
    };
    let mut rows = vec![
        heading(
            "The device's web page (or its panel): E-mail, Scan to E-mail, Network > Email Server",
        ),
        row(
            "SMTP server (Outgoing mail server, SMTP server address)",
            p(v.host),
        ),
        row("Port (SMTP port, Server port number)", v.port.to_string()),
        row("SSL/TLS vs STARTTLS (Secure connection, Encryption)", enc),
        row(
            "SMTP authentication (SMTP-AUTH, Authentication method)",
            if v.auth {
                "On / SMTP-AUTH (not \"POP before SMTP\")"
            } else {
                "Off / None"
            },
        ),
    ];
    if v.auth {
        rows.push(row(
            "User name (Account name, Login, Authenticated account)",
            p(v.login),
        ));
        rows.push(row(
            "Password (Authenticated password)",
            password_for_sheet(v),
        ));
    }
    rows.push(row(
        "Sender address (From address, Device e-mail address)",
        if v.sender.is_empty() {
            "(an address the login may send as)".to_string()
        } else {
            p(v.sender)
        },
    ));
    notes.push("Older printers and scanners that speak only TLS 1.0 cannot reach most servers today: update the device's firmware, or relay through a local server (see the postfix-relay settings).".into());
    if v.auth {
        notes.push("Some devices limit the user name or password length (often 32 or 64 characters) or refuse some symbols; if the login fails only on the device, check its manual for such limits.".into());
    }
    file("printer.txt", sheet(&rows))
}

fn msmtp(v: &Values, notes: &mut Vec<String>) -> Result<ExportFile, String> {
    let q = escape::msmtp;
    let mut out = String::from("# ~/.msmtprc (chmod 600 ~/.msmtprc)\n");
    out.push_str("account default\n");
    out.push_str(&format!("host {}\n", q("Server", v.host)?));
    out.push_str(&format!("port {}\n", v.port));
    let (tls, starttls) = match v.security {
        Security::Tls => ("on", "off"),
        Security::Starttls => ("on", "on"),
        Security::None => ("off", "off"),
    };
    out.push_str(&format!("tls {tls}\n"));
    if v.security != Security::None {
        out.push_str(&format!("tls_starttls {starttls}\n"));
    }
    if let Some(ca) = &v.ca_file {
        out.push_str(&format!("tls_trust_file {}\n", q("CA file", ca)?));
    } else if v.security != Security::None {
        out.push_str("tls_trust_file system\n");
    }
    if v.auth {
        out.push_str("auth on\n");
        out.push_str(&format!("user {}\n", q("Login", v.login)?));
        match v.password {
            Some(p) => out.push_str(&format!("password {}\n", q("Password", p)?)),
            None => {
                let cmd = format!("printenv {}", v.env);
                out.push_str(&format!("passwordeval {}\n", q("Command", &cmd)?));
                notes.push(format!(
                    "msmtp runs `printenv {}` for the password: set that variable before msmtp runs, or change passwordeval to a command that prints it (e.g. \"cat ~/.msmtp-password\" or a password manager).",
                    v.env
                ));
            }
        }
    } else {
        out.push_str("auth off\n");
    }
    if !v.sender.is_empty() {
        out.push_str(&format!("from {}\n", q("Sender", v.sender)?));
    }
    notes.push("Test it: printf 'Subject: test\\n\\nhello\\n' | msmtp -d you@example.org".into());
    Ok(file("msmtprc", out))
}

fn postfix(v: &Values, notes: &mut Vec<String>) -> Result<Vec<ExportFile>, String> {
    let relay = if v.host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[ipv6:{}]:{}", v.host, v.port)
    } else {
        format!("[{}]:{}", v.host.trim_matches(['[', ']']), v.port)
    };
    let mut main =
        String::from("# Add to main.cf (postconf -e, or edit and run: postfix reload)\n");
    main.push_str(&format!("relayhost = {relay}\n"));
    if v.auth {
        main.push_str("smtp_sasl_auth_enable = yes\n");
        main.push_str("smtp_sasl_password_maps = hash:$config_directory/sasl_passwd\n");
        main.push_str("smtp_sasl_security_options = noanonymous\n");
        if v.security == Security::None {
            main.push_str("smtp_sasl_tls_security_options = noanonymous\n");
        }
    }
    match v.security {
        Security::Tls => {
            main.push_str("smtp_tls_security_level = encrypt\n");
            main.push_str("smtp_tls_wrappermode = yes\n");
        }
        Security::Starttls => main.push_str("smtp_tls_security_level = encrypt\n"),
        Security::None => main.push_str("smtp_tls_security_level = none\n"),
    }
    if let Some(ca) = &v.ca_file {
        main.push_str(&format!(
            "smtp_tls_CAfile = {}\n",
            escape::main_cf("CA file", ca)?
        ));
    }
    let mut files = vec![file("main.cf", main)];
    if v.auth {
        escape::no_controls("Login", v.login)?;
        if v.login.contains(':') || v.login.chars().any(char::is_whitespace) {
            return Err(
                "The login contains a colon or a space, which Postfix's sasl_passwd cannot carry."
                    .into(),
            );
        }
        let password = match v.password {
            Some(p) => {
                escape::no_controls("Password", p)?;
                if p.trim() != p {
                    return Err(
                        "The password starts or ends with a space, which sasl_passwd cannot keep."
                            .into(),
                    );
                }
                p
            }
            None => PLACEHOLDER,
        };
        files.push(file(
            "sasl_passwd",
            format!("{relay} {}:{password}\n", v.login),
        ));
        files.push(file(
            "commands.sh",
            "# As root, after putting sasl_passwd into Postfix's directory (postconf -h config_directory, usually /etc/postfix):\n\
             cd \"$(postconf -h config_directory)\"\n\
             chmod 600 sasl_passwd\n\
             postmap sasl_passwd\n\
             postfix reload\n"
                .to_string(),
        ));
        if v.password.is_none() {
            notes.push(format!(
                "Replace {PLACEHOLDER} in sasl_passwd with the password before running postmap."
            ));
        }
    } else {
        files.push(file(
            "commands.sh",
            "# As root:\npostfix reload\n".to_string(),
        ));
    }
    notes.push("smtp_tls_security_level = encrypt insists on encryption but does not check the certificate's name; with a certificate from a public CA (or smtp_tls_CAfile) you can use \"secure\" instead.".into());
    if v.host.parse::<std::net::IpAddr>().is_err() {
        notes.push("The brackets in relayhost make Postfix connect to that name's address and skip its MX lookup, as a mail program does.".into());
    }
    Ok(files)
}

fn phpmailer(v: &Values, notes: &mut Vec<String>) -> ExportFile {
    let q = escape::php;
    let mut out = String::from("<?php\nuse PHPMailer\\PHPMailer\\PHPMailer;\n\n");
    out.push_str("// Composer: composer require phpmailer/phpmailer\n");
    out.push_str("require __DIR__ . '/vendor/autoload.php';\n\n");
    out.push_str("function smtp_mailer(): PHPMailer\n{\n");
    out.push_str("    $mail = new PHPMailer(true); // throws on errors\n");
    out.push_str("    $mail->isSMTP();\n");
    out.push_str(&format!("    $mail->Host = {};\n", q(v.host)));
    out.push_str(&format!("    $mail->Port = {};\n", v.port));
    match v.security {
        Security::Tls => out.push_str(
            "    $mail->SMTPSecure = PHPMailer::ENCRYPTION_SMTPS; // SSL/TLS from the first byte\n",
        ),
        Security::Starttls => {
            out.push_str("    $mail->SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS;\n")
        }
        Security::None => out.push_str(
            "    $mail->SMTPSecure = '';\n    $mail->SMTPAutoTLS = false; // no encryption\n",
        ),
    }
    if v.auth {
        out.push_str("    $mail->SMTPAuth = true;\n");
        out.push_str(&format!("    $mail->Username = {};\n", q(v.login)));
        match v.password {
            Some(p) => out.push_str(&format!("    $mail->Password = {};\n", q(p))),
            None => out.push_str(&format!("    $mail->Password = getenv({});\n", q(v.env))),
        }
    } else {
        out.push_str("    $mail->SMTPAuth = false;\n");
    }
    if let Some(ca) = &v.ca_file {
        out.push_str(&format!(
            "    $mail->SMTPOptions = ['ssl' => ['cafile' => {}]];\n",
            q(ca)
        ));
    }
    if !v.sender.is_empty() {
        out.push_str(&format!("    $mail->setFrom({});\n", q(v.sender)));
    }
    out.push_str("    return $mail;\n}\n\n");
    out.push_str("// $mail = smtp_mailer();\n// $mail->addAddress('someone@example.org');\n// $mail->Subject = 'Hello';\n// $mail->Body = 'Hello';\n// $mail->send();\n");
    if v.password.is_none() && v.auth {
        notes.push(format!(
            "The code reads the password from the environment variable {} (for PHP-FPM: env[{}] in the pool configuration; for Apache: SetEnv).",
            v.env, v.env
        ));
    }
    file("smtp_mailer.php", out)
}

fn wordpress(v: &Values, notes: &mut Vec<String>) -> ExportFile {
    let q = escape::php;
    let mut out = String::from(
        "// wp-config.php, above the line \"That's all, stop editing!\" (WP Mail SMTP plugin)\n",
    );
    out.push_str("define( 'WPMS_ON', true );\n");
    if !v.sender.is_empty() {
        out.push_str(&format!("define( 'WPMS_MAIL_FROM', {} );\n", q(v.sender)));
        out.push_str("define( 'WPMS_MAIL_FROM_FORCE', true );\n");
    }
    out.push_str("define( 'WPMS_MAILER', 'smtp' );\n");
    out.push_str(&format!("define( 'WPMS_SMTP_HOST', {} );\n", q(v.host)));
    out.push_str(&format!("define( 'WPMS_SMTP_PORT', {} );\n", v.port));
    let (ssl, autotls) = match v.security {
        Security::Tls => ("'ssl'", "false"),
        Security::Starttls => ("'tls'", "false"),
        Security::None => ("''", "false"),
    };
    out.push_str(&format!(
        "define( 'WPMS_SSL', {ssl} ); // '' none, 'ssl' SSL/TLS, 'tls' STARTTLS\n"
    ));
    out.push_str(&format!("define( 'WPMS_SMTP_AUTOTLS', {autotls} );\n"));
    out.push_str(&format!(
        "define( 'WPMS_SMTP_AUTH', {} );\n",
        if v.auth { "true" } else { "false" }
    ));
    if v.auth {
        out.push_str(&format!("define( 'WPMS_SMTP_USER', {} );\n", q(v.login)));
        let pass = v.password.unwrap_or(PLACEHOLDER);
        out.push_str(&format!("define( 'WPMS_SMTP_PASS', {} );\n", q(pass)));
        if v.password.is_none() {
            notes.push(format!(
                "Replace {PLACEHOLDER} in WPMS_SMTP_PASS with the password (or with getenv('{}') if the web server passes that variable to PHP).",
                v.env
            ));
        }
    }
    if v.ca_file.is_some() {
        notes.push("WP Mail SMTP has no setting for an extra CA file: add the CA to the system's trusted certificates (or openssl.cafile in php.ini).".into());
    }
    notes.push("Then WP Mail SMTP > Tools > Email Test sends a test message.".into());
    file("wp-config.php", out)
}

fn nodemailer(v: &Values, notes: &mut Vec<String>) -> ExportFile {
    let q = escape::js;
    let mut out = String::new();
    if v.ca_file.is_some() {
        out.push_str("const fs = require(\"fs\");\n");
    }
    out.push_str("const nodemailer = require(\"nodemailer\");\n\n");
    out.push_str("const transporter = nodemailer.createTransport({\n");
    out.push_str(&format!("  host: {},\n", q(v.host)));
    out.push_str(&format!("  port: {},\n", v.port));
    match v.security {
        Security::Tls => out.push_str("  secure: true, // SSL/TLS from the first byte\n"),
        Security::Starttls => {
            out.push_str("  secure: false,\n  requireTLS: true, // STARTTLS, or no sending\n")
        }
        Security::None => out.push_str("  secure: false,\n  ignoreTLS: true, // no encryption\n"),
    }
    if v.auth {
        let pass = match v.password {
            Some(p) => q(p),
            None => format!("process.env.{}", v.env),
        };
        out.push_str(&format!(
            "  auth: {{ user: {}, pass: {pass} }},\n",
            q(v.login)
        ));
    }
    if let Some(ca) = &v.ca_file {
        out.push_str(&format!("  tls: {{ ca: [fs.readFileSync({})] }},\n", q(ca)));
    }
    out.push_str("});\n\n");
    let from = if v.sender.is_empty() {
        "\"you@example.org\"".to_string()
    } else {
        q(v.sender)
    };
    out.push_str(&format!("const from = {from};\n\n"));
    out.push_str("module.exports = { transporter, from };\n\n");
    out.push_str("// await transporter.sendMail({ from, to: \"someone@example.org\", subject: \"Hello\", text: \"Hello\" });\n");
    if v.auth && v.password.is_none() {
        notes.push(format!(
            "The code reads the password from the environment variable {}.",
            v.env
        ));
    }
    file("mailer.js", out)
}

fn python(v: &Values, notes: &mut Vec<String>) -> ExportFile {
    let q = escape::python;
    let mut out = String::from("import os\nimport smtplib\nimport ssl\n\n");
    out.push_str(&format!("SMTP_HOST = {}\n", q(v.host)));
    out.push_str(&format!("SMTP_PORT = {}\n", v.port));
    if v.auth {
        out.push_str(&format!("SMTP_USER = {}\n", q(v.login)));
        match v.password {
            Some(p) => out.push_str(&format!("SMTP_PASSWORD = {}\n", q(p))),
            None => out.push_str(&format!("SMTP_PASSWORD = os.environ[{}]\n", q(v.env))),
        }
    }
    out.push_str(&format!(
        "SENDER = {}\n\n",
        if v.sender.is_empty() {
            q("you@example.org")
        } else {
            q(v.sender)
        }
    ));
    out.push_str("\ndef send_message(msg):\n");
    out.push_str("    \"\"\"Sends an email.message.EmailMessage.\"\"\"\n");
    let ctx = match &v.ca_file {
        Some(ca) => format!("ssl.create_default_context(cafile={})", q(ca)),
        None => "ssl.create_default_context()".to_string(),
    };
    match v.security {
        Security::Tls => {
            out.push_str(&format!("    context = {ctx}\n"));
            out.push_str("    with smtplib.SMTP_SSL(SMTP_HOST, SMTP_PORT, context=context, timeout=30) as smtp:\n");
        }
        Security::Starttls => {
            out.push_str(&format!("    context = {ctx}\n"));
            out.push_str("    with smtplib.SMTP(SMTP_HOST, SMTP_PORT, timeout=30) as smtp:\n");
            out.push_str("        smtp.starttls(context=context)\n");
        }
        Security::None => {
            out.push_str("    with smtplib.SMTP(SMTP_HOST, SMTP_PORT, timeout=30) as smtp:\n");
        }
    }
    if v.auth {
        out.push_str("        smtp.login(SMTP_USER, SMTP_PASSWORD)\n");
    }
    out.push_str("        smtp.send_message(msg)\n");
    out.push_str("\n\n# from email.message import EmailMessage\n# msg = EmailMessage()\n# msg[\"From\"] = SENDER\n# msg[\"To\"] = \"someone@example.org\"\n# msg[\"Subject\"] = \"Hello\"\n# msg.set_content(\"Hello\")\n# send_message(msg)\n");
    if v.auth && v.password.is_none() {
        notes.push(format!(
            "The code reads the password from the environment variable {}.",
            v.env
        ));
    }
    file("smtp_settings.py", out)
}

fn django(v: &Values, notes: &mut Vec<String>) -> ExportFile {
    let q = escape::python;
    let mut out = String::from("# settings.py\nimport os\n\n");
    out.push_str("EMAIL_BACKEND = 'django.core.mail.backends.smtp.EmailBackend'\n");
    out.push_str(&format!("EMAIL_HOST = {}\n", q(v.host)));
    out.push_str(&format!("EMAIL_PORT = {}\n", v.port));
    out.push_str(&format!(
        "EMAIL_USE_SSL = {}\n",
        if v.security == Security::Tls {
            "True"
        } else {
            "False"
        }
    ));
    out.push_str(&format!(
        "EMAIL_USE_TLS = {}  # STARTTLS\n",
        if v.security == Security::Starttls {
            "True"
        } else {
            "False"
        }
    ));
    if v.auth {
        out.push_str(&format!("EMAIL_HOST_USER = {}\n", q(v.login)));
        match v.password {
            Some(p) => out.push_str(&format!("EMAIL_HOST_PASSWORD = {}\n", q(p))),
            None => out.push_str(&format!("EMAIL_HOST_PASSWORD = os.environ[{}]\n", q(v.env))),
        }
    } else {
        out.push_str("EMAIL_HOST_USER = ''\nEMAIL_HOST_PASSWORD = ''\n");
    }
    if !v.sender.is_empty() {
        out.push_str(&format!("DEFAULT_FROM_EMAIL = {}\n", q(v.sender)));
        out.push_str(&format!("SERVER_EMAIL = {}\n", q(v.sender)));
    }
    out.push_str("EMAIL_TIMEOUT = 30\n");
    if let Some(ca) = &v.ca_file {
        notes.push(format!(
            "Django has no setting for an extra CA file: start it with SSL_CERT_FILE={} in the environment (or add the CA to the system's trusted certificates).",
            escape::shell(ca)
        ));
    }
    if v.auth && v.password.is_none() {
        notes.push(format!(
            "Django reads the password from the environment variable {}.",
            v.env
        ));
    }
    notes.push("Test it: python manage.py sendtestemail someone@example.org".into());
    file("settings.py", out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Password;

    fn settings() -> Settings {
        Settings {
            account: "bob@example.org".into(),
            login: "bob@example.org".into(),
            password: Password::new("s3cret'\"pw"),
            server: "smtp.example.org".into(),
            port: 587,
            security: Security::Starttls,
            auth: true,
            ..Settings::default()
        }
    }

    #[test]
    fn every_client_without_password() {
        let s = settings();
        for c in Client::ALL {
            let e = generate(&s, c, &Options::default()).unwrap();
            assert!(!e.files.is_empty(), "{c}");
            let all: String = e.files.iter().map(|f| f.content.as_str()).collect();
            assert!(!all.contains("s3cret"), "{c}: {all}");
            assert!(all.contains("smtp.example.org"), "{c}");
            assert!(all.contains("587"), "{c}");
            assert_eq!(Client::parse(c.name()), Some(c));
        }
    }

    #[test]
    fn password_only_when_asked() {
        let s = settings();
        let o = Options {
            include_password: true,
            ..Options::default()
        };
        let e = generate(&s, Client::Python, &o).unwrap();
        assert!(
            e.files[0]
                .content
                .contains(r#"SMTP_PASSWORD = 's3cret\'"pw'"#)
        );
        let e = generate(&s, Client::Msmtp, &o).unwrap();
        assert!(e.files[0].content.contains(r#"password "s3cret'"pw""#));
    }

    #[test]
    fn implicit_tls_per_client() {
        let mut s = settings();
        s.port = 465;
        s.security = Security::Tls;
        let o = Options::default();
        let text = |c| generate(&s, c, &o).unwrap().files[0].content.clone();
        assert!(text(Client::Thunderbird).contains("<socketType>SSL</socketType>"));
        assert!(text(Client::Msmtp).contains("tls_starttls off"));
        assert!(text(Client::PostfixRelay).contains("smtp_tls_wrappermode = yes"));
        assert!(text(Client::Phpmailer).contains("ENCRYPTION_SMTPS"));
        assert!(text(Client::Nodemailer).contains("secure: true"));
        assert!(text(Client::Python).contains("SMTP_SSL("));
        assert!(text(Client::Django).contains("EMAIL_USE_SSL = True"));
        assert!(text(Client::Wordpress).contains("'WPMS_SSL', 'ssl'"));
    }

    #[test]
    fn line_formats_refuse_a_line_break() {
        let mut s = settings();
        s.login = "bob\nrelayhost = evil".into();
        let o = Options::default();
        assert!(generate(&s, Client::Msmtp, &o).is_err());
        assert!(generate(&s, Client::PostfixRelay, &o).is_err());
        // The quoting formats carry it inside the value.
        let py = generate(&s, Client::Python, &o).unwrap();
        assert!(py.files[0].content.contains(r"'bob\nrelayhost = evil'"));
        let xml = generate(&s, Client::Thunderbird, &o).unwrap();
        assert!(xml.files[0].content.contains("bob&#10;relayhost = evil"));
    }

    #[test]
    fn missing_pieces_are_errors() {
        let mut s = settings();
        s.server.clear();
        assert!(generate(&s, Client::Msmtp, &Options::default()).is_err());
        let s = settings();
        let bad = Options {
            include_password: false,
            password_env: "X Y".into(),
        };
        assert!(generate(&s, Client::Python, &bad).is_err());
        let mut s = settings();
        s.password = Password::default();
        let o = Options {
            include_password: true,
            ..Options::default()
        };
        assert!(generate(&s, Client::Python, &o).is_err());
    }
}
