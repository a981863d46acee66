//! Microsoft 365 (Exchange Online) message trace exports in CSV.
//!
//! Column names as Microsoft documents them: the message trace results and
//! `Get-MessageTrace` output (`Received`, `SenderAddress`,
//! `RecipientAddress`, `Status`, `FromIP`, …), the trace details
//! (`Date`, `Event`, `Action`, `Detail`), and the downloadable
//! "enhanced summary" / "extended" reports (`origin_timestamp_utc`,
//! `sender_address`, `recipient_status` as `address##Receive, Fail`,
//! `original_client_ip`; the extended report's `date_time_utc`,
//! `event_id` and `client_ip`). Names are compared without case, spaces and
//! underscores.

use super::formats::{Event, Kind, Source};

/// Which column holds what, found from a header row.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    count: usize,
    time: Option<usize>,
    sender: Option<usize>,
    recipient: Option<usize>,
    status: Option<usize>,
    recipient_status: Option<usize>,
    detail: Option<usize>,
    client_ip: Option<usize>,
}

fn norm(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The columns when `line` is a message trace header row.
pub fn header(line: &str) -> Option<Columns> {
    if !line.contains(',') {
        return None;
    }
    let mut fields = Vec::new();
    split(line, &mut fields)?;
    let mut c = Columns {
        count: fields.len(),
        ..Columns::default()
    };
    for (i, f) in fields.iter().enumerate() {
        let slot = match norm(f).as_str() {
            "received" | "date" | "datetime" | "dateutc" | "datetimeutc" | "origintimestamputc"
            | "origintimestamp" | "receiveddatetime" => &mut c.time,
            "senderaddress" | "sender" => &mut c.sender,
            "recipientaddress" | "recipient" | "recipients" => &mut c.recipient,
            "status" | "deliverystatus" | "event" | "eventid" => &mut c.status,
            "recipientstatus" => &mut c.recipient_status,
            "detail" | "details" | "reason" => &mut c.detail,
            "fromip" | "originalclientip" | "clientip" => &mut c.client_ip,
            _ => continue,
        };
        slot.get_or_insert(i);
    }
    let has_status = c.status.is_some() || c.recipient_status.is_some();
    let has_party = c.sender.is_some() || c.recipient.is_some() || c.detail.is_some();
    (has_status && has_party && c.count >= 3).then_some(c)
}

/// Splits one CSV record (RFC 4180 quoting) into `out`; `None` when the
/// quoting is unbalanced.
pub fn split(line: &str, out: &mut Vec<String>) -> Option<()> {
    out.clear();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut field));
            at_start = true;
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if quoted {
        return None;
    }
    out.push(field);
    Some(())
}

/// A row of the export: a finding when its status says the delivery
/// failed or was deferred. `fields` must come from [`split`].
pub fn row<'a>(cols: &Columns, fields: &'a [String]) -> Option<Event<'a>> {
    let get = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let status = get(cols.status)
        .or_else(|| get(cols.recipient_status).map(|s| s.rsplit("##").next().unwrap_or(s)))?;
    let lower = status.to_ascii_lowercase();
    let kind = if lower.contains("fail") || lower.contains("reject") {
        Kind::Bounced
    } else if lower.contains("defer") {
        Kind::Deferred
    } else {
        return None;
    };
    let recipient = get(cols.recipient).or_else(|| {
        get(cols.recipient_status)
            .and_then(|s| s.split("##").next())
            .filter(|r| r.contains('@'))
    });
    Some(Event {
        source: Source::M365,
        kind,
        time: get(cols.time).unwrap_or(""),
        client_ip: get(cols.client_ip),
        user: None,
        sender: get(cols.sender),
        recipient,
        // The extended report keeps the remote reply in recipient_status
        // ("{LED=550 5.1.10 …}") beside its event_id column.
        reason: get(cols.detail)
            .or_else(|| cols.status.and(get(cols.recipient_status)))
            .unwrap_or(""),
        implied_reply: None,
    })
}

/// True when `fields` fit the header the columns came from.
pub fn fits(cols: &Columns, fields: &[String]) -> bool {
    fields.len() == cols.count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields() {
        let mut out = Vec::new();
        split(r#"a,"b, c","say ""hi""",,"#, &mut out).unwrap();
        assert_eq!(out, ["a", "b, c", "say \"hi\"", "", ""]);
        assert!(split(r#"a,"open"#, &mut out).is_none());
    }

    #[test]
    fn header_forms() {
        assert!(
            header("Received,SenderAddress,RecipientAddress,Subject,Status,ToIP,FromIP").is_some()
        );
        assert!(
            header("origin_timestamp_utc,sender_address,recipient_status,message_subject")
                .is_some()
        );
        assert!(header("Nov 30 mail postfix: to=<a>, relay=x, status=sent").is_none());
    }
}
