//! Quoting a user's value for each target format, so that a quote, a
//! backslash or a line break in a field stays inside its value and cannot
//! end it early or add a line of its own. Formats that have no way to
//! carry a line break (msmtprc, Postfix tables) refuse such a value.

/// A control character: C0, DEL and C1.
fn is_control(c: char) -> bool {
    c.is_control()
}

/// A value that has no control character, or the error that names the field.
pub fn no_controls(field: &str, value: &str) -> Result<(), String> {
    if value.chars().any(is_control) {
        Err(format!(
            "{field} contains a line break or another control character, which this format cannot carry."
        ))
    } else {
        Ok(())
    }
}

/// XML 1.0 element text or attribute value (either quote style).
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            // Not allowed in XML 1.0 at all, not even as a reference.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c if is_control(c) => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A PHP single-quoted string literal, quotes included. Inside single
/// quotes only `\\` and `\'` are escapes; a line break is kept as is, and
/// `?>` inside a string does not end the PHP block.
pub fn php(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A JavaScript string literal, quotes included (JSON's rules, plus the
/// two line separators that older JavaScript engines did not accept).
pub fn js(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A Python string literal, quotes included.
pub fn python(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && is_control(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_control(c) || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An msmtprc argument: in double quotes. msmtp strips only the outer pair
/// and takes everything between as it is (a backslash or an inner quote is
/// not an escape, as seen with msmtp 1.8.23), so nothing inside is changed;
/// a line break, which would start a new command, is refused.
pub fn msmtp(field: &str, s: &str) -> Result<String, String> {
    no_controls(field, s)?;
    Ok(format!("\"{s}\""))
}

/// A Postfix main.cf value: one line, `$` doubled so it is not expanded,
/// no whitespace at either end (Postfix would drop it).
pub fn main_cf(field: &str, s: &str) -> Result<String, String> {
    no_controls(field, s)?;
    if s.trim() != s {
        return Err(format!(
            "{field} starts or ends with a space, which main.cf cannot keep."
        ));
    }
    Ok(s.replace('$', "$$"))
}

/// A shell word in single quotes (for a command shown to the user).
pub fn shell(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Text for a sheet a person reads: control characters shown as escapes.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// An environment variable name a shell and every client accept.
pub fn env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is not a usable environment variable name (letters, digits and _, not starting with a digit).",
            printable(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_breaks() {
        assert_eq!(
            xml("a<b>&\"c'\n\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;\u{FFFD}"
        );
    }

    #[test]
    fn php_keeps_quotes_inside() {
        assert_eq!(php(r"it's a\b"), r"'it\'s a\\b'");
        assert_eq!(php("x\\"), r"'x\\'");
    }

    #[test]
    fn js_and_python_escape_breaks() {
        assert_eq!(js("a\"b\n\u{2028}"), r#""a\"b\n\u2028""#);
        assert_eq!(python("a'b\\\n\u{7}"), r"'a\'b\\\n\x07'");
    }

    #[test]
    fn line_formats_refuse_breaks() {
        assert!(msmtp("Login", "a\nb").is_err());
        assert_eq!(msmtp("Login", r#"a"b\c"#).unwrap(), r#""a"b\c""#);
        assert!(main_cf("CA file", "/x\nrelayhost = evil").is_err());
        assert_eq!(main_cf("CA file", "/a$b").unwrap(), "/a$$b");
    }

    #[test]
    fn env_names() {
        assert!(env_name("SMTP_PASSWORD").is_ok());
        assert!(env_name("1X").is_err());
        assert!(env_name("A;rm").is_err());
        assert!(env_name("").is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell("/etc/postfix/sasl_passwd"),
            "/etc/postfix/sasl_passwd"
        );
        assert_eq!(shell("a b'c"), r"'a b'\''c'");
    }
}
