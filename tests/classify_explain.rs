//! `explain` on pasted multi-line bounces: line breaks are kept whatever
//! the paste used for them, and a reply wrapped over several lines is read
//! as one.

use smtp_doctor::classify::classify_text;
use smtp_doctor::explain::{clean_paste, explain};

/// A Postfix bounce as posted in YunoHost-Apps/mailman_ynh#12
/// (https://github.com/YunoHost-Apps/mailman_ynh/issues/12).
const POSTFIX_BOUNCE: &str = "I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<mailman@chif.fr>: host spool.mail.gandi.net[217.70.178.1] said: 554 5.7.1
    <mailman@chif.fr>: Relay access denied (in reply to RCPT TO command)
";

/// The same text with each line break as a terminal's paste delivers it
/// (`\r`) or as Windows programs write it (`\r\n`).
fn variants(text: &str) -> [String; 3] {
    [
        text.to_string(),
        text.replace('\n', "\r"),
        text.replace('\n', "\r\n"),
    ]
}

#[test]
fn line_breaks_survive_cleaning_in_every_form() {
    for pasted in variants(POSTFIX_BOUNCE) {
        let cleaned = clean_paste(&pasted);
        assert!(
            cleaned.contains("could not\nbe delivered"),
            "line break lost: {cleaned:?}"
        );
        assert!(!cleaned.contains("notbe"), "{cleaned:?}");
        assert_eq!(cleaned, POSTFIX_BOUNCE);
    }
    assert_eq!(clean_paste("a\tb\u{1b}[0m\u{0}c"), "a\tb[0mc");
}

#[test]
fn a_pasted_postfix_bounce_is_explained_in_every_form() {
    for pasted in variants(POSTFIX_BOUNCE) {
        let found = explain(&pasted);
        assert_eq!(
            found.first().map(|f| f.id.as_str()),
            Some("relay-denied"),
            "{pasted:?}: {:?}",
            found.iter().map(|f| &f.id).collect::<Vec<_>>()
        );
    }
}

/// Gmail's multi-line 550-5.7.1 as bounces and logs quote it: wrapped by the
/// bounce, with the continuation codes inside the lines, so the telling
/// phrase ("not authorized to send email directly to our servers") is split
/// by a line break and by a `550-5.7.1` marker.
#[test]
fn a_multi_line_reply_wrapped_in_a_bounce_is_read_as_one() {
    let cases = [
        (
            "https://github.com/Mailu/Mailu/issues/2599",
            "host alt1.gmail-smtp-in.l.google.com[142.250.141.26]
    said: 550-5.7.1 [47.98.50.1] The IP you're using to send mail is not
    authorized to 550-5.7.1 send email directly to our servers. Please use the
    SMTP relay at your 550-5.7.1 service provider instead. Learn more at 550
    5.7.1  https://support.google.com/mail/?p=NotAuthorizedError
    j15-20020a056a00234f00b0057a8accf94dsi11536503pfj.261 - gsmtp (in reply to
    end of DATA command)",
        ),
        (
            "https://github.com/LSFLK-Archive/Copper/issues/180",
            "gmail-smtp-in.l.google.com[172.217.194.27] said: 550-5.7.1
    [123.231.124.224] The IP you're using to send mail is not authorized
    550-5.7.1 to send email directly to our servers. Please use the SMTP relay
    at 550-5.7.1 your service provider instead. Learn more at 550 5.7.1
    https://support.google.com/mail/?p=NotAuthorizedError s14si6092250pgs.98 -
    gsmtp (in reply to end of DATA command)",
        ),
        (
            "https://github.com/guileen/node-sendmail/issues/37",
            "Error: SMTP code:550 msg:550-5.7.1 [45.247.227.73] The IP you're using to send mail is not authorized to
550-5.7.1 send email directly to our servers. Please use the SMTP relay at your
550-5.7.1 service provider instead. Learn more at
550 5.7.1  https://support.google.com/mail/?p=NotAuthorizedError f64si1223417pfg.362 - gsmtp",
        ),
    ];
    let mut failures = Vec::new();
    for (source, text) in cases {
        for pasted in variants(text) {
            for text in [pasted.clone(), clean_paste(&pasted)] {
                let top = classify_text(&text).first().map(|m| m.cause.clone());
                if top.as_deref() != Some("ip-blocklisted") {
                    failures.push(format!("{source}: {text:?} gave {top:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
