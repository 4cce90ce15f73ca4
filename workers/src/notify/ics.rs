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

/// Who the invitation is to, and whether their seat is only offered (`TENTATIVE`, with Accept
/// and Decline) or accepted (`CONFIRMED`).
pub struct Attendee<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub accepted: bool,
}

/// Europe/London, as calendar programs want it beside `TZID` times: GMT in winter, BST from
/// the last Sunday of March to the last Sunday of October.
const VTIMEZONE: [&str; 18] = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/London",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0100",
    "TZNAME:BST",
    "DTSTART:19700329T010000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0000",
    "TZNAME:GMT",
    "DTSTART:19701025T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
    "",
];

/// A UTC time as written in the event ("20270301T090000Z") as local London time
/// ("20270301T090000"), for `TZID=Europe/London`.
fn london(utc: &str) -> String {
    let parsed = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", utc)
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .and_then(|z| jiff::tz::TimeZone::get("Europe/London").ok().map(|tz| z.with_time_zone(tz)));
    match parsed {
        Some(z) => z.strftime("%Y%m%dT%H%M%S").to_string(),
        None => utc.trim_end_matches('Z').to_owned(),
    }
}

/// A parameter value, quoted (RFC 5545 §3.2: DQUOTE-safe text).
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "'"))
}

/// The iTIP REQUEST (RFC 5546 §3.2.2) for a seat: the organiser (the scheme, at the service's
/// address), the candidate as the one attendee whose answer is asked (`RSVP=TRUE`), local
/// Europe/London times with the zone defined, and the seat's state.
pub fn invitation(e: &Event, organizer_name: &str, organizer: &str, to: &Attendee<'_>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//fasttrack//assessment centres//EN".to_owned(),
        "METHOD:REQUEST".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
    ];
    lines.extend(VTIMEZONE.iter().filter(|l| !l.is_empty()).map(|l| (*l).to_owned()));
    let partstat = if to.accepted { "ACCEPTED" } else { "NEEDS-ACTION" };
    lines.extend([
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", e.uid),
        format!("SEQUENCE:{}", e.sequence),
        format!("DTSTAMP:{}", e.stamp_utc),
        format!("DTSTART;TZID=Europe/London:{}", london(&e.start_utc)),
        format!("DTEND;TZID=Europe/London:{}", london(&e.end_utc)),
        format!("SUMMARY:{}", escape(&e.summary)),
        format!("LOCATION:{}", escape(&e.location)),
        format!("DESCRIPTION:{}", escape(&e.description)),
        format!("ORGANIZER;CN={}:mailto:{organizer}", quoted(organizer_name)),
        format!(
            "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};RSVP=TRUE:mailto:{}",
            quoted(to.name),
            to.email
        ),
        format!("STATUS:{}", if to.accepted { "CONFIRMED" } else { "TENTATIVE" }),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ]);
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
        let to = Attendee { name: "Ada Lovelace", email: "ada@example.org", accepted: false };
        let text = invitation(&event(), "London pilot", "recruitment@example.org", &to);
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

    #[test]
    fn an_independent_parser_reads_the_attendee_organiser_zone_and_state() {
        let to = Attendee { name: "Ada \"AL\" Lovelace", email: "ada@example.org", accepted: false };
        let text = invitation(&event(), "London pilot", "recruitment@example.org", &to);
        let mut reader = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
        let cal = reader.next().expect("a calendar").expect("it parses");
        let method = cal.properties.iter().find(|p| p.name == "METHOD").and_then(|p| p.value.clone());
        assert_eq!(method.as_deref(), Some("REQUEST"));
        assert_eq!(cal.timezones.len(), 1);
        let tzid = cal.timezones[0].properties.iter().find(|p| p.name == "TZID").and_then(|p| p.value.clone());
        assert_eq!(tzid.as_deref(), Some("Europe/London"));
        let ev = &cal.events[0];
        let prop =
            |name: &str| ev.properties.iter().find(|p| p.name == name).cloned().unwrap_or_else(|| panic!("{name}"));
        let param = |p: &ical::property::Property, key: &str| {
            p.params.as_ref().and_then(|ps| ps.iter().find(|(k, _)| k == key)).map(|(_, v)| v.join(","))
        };
        let attendee = prop("ATTENDEE");
        assert_eq!(attendee.value.as_deref(), Some("mailto:ada@example.org"));
        assert_eq!(param(&attendee, "RSVP").as_deref(), Some("TRUE"));
        assert_eq!(param(&attendee, "PARTSTAT").as_deref(), Some("NEEDS-ACTION"));
        let organizer = prop("ORGANIZER");
        assert_eq!(organizer.value.as_deref(), Some("mailto:recruitment@example.org"));
        let start = prop("DTSTART");
        assert_eq!(param(&start, "TZID").as_deref(), Some("Europe/London"));
        // 09:00 UTC on 1 March is 09:00 in London (GMT); a summer date is an hour on.
        assert_eq!(start.value.as_deref(), Some("20270301T090000"));
        assert_eq!(london("20270601T080000Z"), "20270601T090000");
        assert_eq!(prop("UID").value.as_deref(), Some("booking-1@fasttrack"));
        assert_eq!(prop("SEQUENCE").value.as_deref(), Some("2"));
        assert_eq!(prop("STATUS").value.as_deref(), Some("TENTATIVE"), "a seat offered, not yet accepted");
        let accepted =
            invitation(&event(), "London pilot", "recruitment@example.org", &Attendee { accepted: true, ..to });
        assert!(accepted.contains("STATUS:CONFIRMED") && accepted.contains("PARTSTAT=ACCEPTED"));
    }
}
