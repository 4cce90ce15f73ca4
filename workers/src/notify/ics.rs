//! iCalendar (RFC 5545) invitations for assessment-centre sessions: CRLF line
//! endings, lines folded at 75 octets, text escaped, times in UTC (converted
//! from Europe/London by the caller, so summer time is handled), a UID stable
//! for the booking and a SEQUENCE bumped on every change.

/// What an invitation needs; it travels in the email's context as `ics`.
pub use fasttrack_core::mail::CalendarEvent as Event;

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n")
}

/// Folds a content line at 75 octets (continuation lines start with a space), never
/// splitting a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out.push_str("\r\n");
    out
}

pub fn invitation(e: &Event, organizer: &str) -> String {
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//fasttrack//assessment centres//EN".to_owned(),
        "METHOD:REQUEST".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", e.uid),
        format!("SEQUENCE:{}", e.sequence),
        format!("DTSTAMP:{}", e.stamp_utc),
        format!("DTSTART:{}", e.start_utc),
        format!("DTEND:{}", e.end_utc),
        format!("SUMMARY:{}", escape(&e.summary)),
        format!("LOCATION:{}", escape(&e.location)),
        format!("DESCRIPTION:{}", escape(&e.description)),
        format!("ORGANIZER:mailto:{organizer}"),
        "STATUS:CONFIRMED".to_owned(),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            uid: "booking-1@fasttrack".into(),
            sequence: 2,
            start_utc: "20270301T090000Z".into(),
            end_utc: "20270301T123000Z".into(),
            stamp_utc: "20261124T100000Z".into(),
            summary: "Assessment centre; London, pilot".into(),
            location: "Skipton House, 80 London Road, London SE1 6LH, a very long address that needs folding at seventy-five octets".into(),
            description: "Bring photo ID".into(),
        }
    }

    #[test]
    fn crlf_folded_escaped_with_uid_and_sequence() {
        let text = invitation(&event(), "noreply@example.org");
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'), "only CRLF line endings");
        assert!(text.contains("UID:booking-1@fasttrack\r\n") && text.contains("SEQUENCE:2\r\n"));
        assert!(text.contains("SUMMARY:Assessment centre\\; London\\, pilot"));
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{line}");
        }
        // Unfolding restores the location.
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains("LOCATION:Skipton House\\, 80 London Road\\, London SE1 6LH\\, a very long address"));
    }
}
