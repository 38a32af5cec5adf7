//! One page of `GET /admin/events?after=C&limit=N` or `GET /admin/deletions?after=C&limit=N`:
//! NDJSON read line by line, checked against the contract both routes share (seq strictly
//! increasing after `C`, at most `N` lines, `X-Next-Cursor` equal to the last line's seq, or to
//! `C` when the page is empty).

use std::io::BufRead;

use edgerec_core::wire::StoredDeletion;
use serde::de::DeserializeOwned;

use super::event::{Row, StoredEvent, to_row};

/// A line of a page: it has a `seq`.
pub trait Line: DeserializeOwned {
    /// What a line is, for error messages.
    const NOUN: &'static str;
    /// Its position in the log.
    fn seq(&self) -> u64;
}

impl Line for StoredEvent {
    const NOUN: &'static str = "a stored event";
    fn seq(&self) -> u64 {
        self.seq
    }
}

impl Line for StoredDeletion {
    const NOUN: &'static str = "a deletion";
    fn seq(&self) -> u64 {
        self.seq
    }
}

/// A parsed, checked page of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The events as rows, in seq order.
    pub rows: Vec<Row>,
    /// The cursor after this page.
    pub next: u64,
}

impl Page {
    /// Whether this is the last page (it has fewer lines than asked for).
    pub fn is_last(&self, limit: usize) -> bool {
        self.rows.len() < limit
    }
}

/// Reads one page of events. `header` is the `X-Next-Cursor` header's value, if any.
pub fn parse_page(
    body: impl BufRead,
    after: u64,
    limit: usize,
    header: Option<&str>,
) -> anyhow::Result<Page> {
    let (events, next) = parse_lines::<StoredEvent>(body, after, limit, header)?;
    let rows = events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            to_row(event).map_err(|e| {
                anyhow::anyhow!("line {}: event {:?} (seq {}): {e}", index + 1, event.event_id, event.seq)
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Page { rows, next })
}

/// Reads one page of lines and the cursor after it. `header` is the `X-Next-Cursor` header's
/// value, if any.
pub fn parse_lines<T: Line>(
    body: impl BufRead,
    after: u64,
    limit: usize,
    header: Option<&str>,
) -> anyhow::Result<(Vec<T>, u64)> {
    let mut lines: Vec<T> = Vec::new();
    let mut last = after;
    for (index, line) in body.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| anyhow::anyhow!("reading line {number} of the page: {e}"))?;
        if line.trim().is_empty() {
            anyhow::bail!("line {number} of the page is empty");
        }
        let value: T = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("line {number} of the page is not {}: {e}", T::NOUN))?;
        anyhow::ensure!(
            value.seq() > last,
            "line {number} has seq {} but follows {last}: the Worker must send seq in increasing \
             order after the cursor",
            value.seq()
        );
        last = value.seq();
        lines.push(value);
        anyhow::ensure!(lines.len() <= limit, "the page has more than the {limit} lines asked for");
    }
    let header = header.ok_or_else(|| anyhow::anyhow!("the answer has no X-Next-Cursor header"))?;
    let next: u64 = header
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("X-Next-Cursor {header:?} is not a non-negative integer"))?;
    anyhow::ensure!(
        next == last,
        "X-Next-Cursor is {next} but the page ends at seq {last} (it asked for lines after {after})"
    );
    Ok((lines, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64) -> String {
        format!(
            r#"{{"seq": {seq}, "event_id": "ev-{seq}", "user_id": "U1", "item_id": "TECH1", "behavior": "view", "rating": null, "timestamp": 1767225600, "received_at": 1767225600123, "stored_at": 1767225600456}}"#
        )
    }

    fn page(lines: &[String], after: u64, limit: usize, header: Option<&str>) -> anyhow::Result<Page> {
        let body = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        parse_page(body.as_bytes(), after, limit, header)
    }

    fn err(result: anyhow::Result<Page>) -> String {
        format!("{:#}", result.expect_err("rejected"))
    }

    #[test]
    fn a_good_page_parses_in_order() {
        let got = page(&[line(11), line(12), line(15)], 10, 5, Some("15")).expect("valid");
        assert_eq!(got.rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [11, 12, 15]);
        assert_eq!(got.rows[0].event_id, "ev-11");
        assert_eq!(got.next, 15);
        assert!(got.is_last(5));
        assert!(!got.is_last(3));
    }

    #[test]
    fn an_empty_page_keeps_the_cursor() {
        let got = page(&[], 42, 100, Some("42")).expect("valid");
        assert_eq!(got, Page { rows: Vec::new(), next: 42 });
        assert!(err(page(&[], 42, 100, Some("43"))).contains("X-Next-Cursor is 43"));
    }

    #[test]
    fn a_final_line_without_newline_counts() {
        let body = format!("{}\n{}", line(1), line(2));
        let got = parse_page(body.as_bytes(), 0, 10, Some("2")).expect("valid");
        assert_eq!(got.rows.len(), 2);
    }

    #[test]
    fn malformed_lines_are_named() {
        assert!(err(page(&[line(1), "{not json".into()], 0, 10, Some("2"))).contains("line 2"));
        assert!(
            err(page(&[line(1), String::new(), line(2)], 0, 10, Some("2")))
                .contains("line 2 of the page is empty")
        );
        let missing = r#"{"seq": 1, "user_id": "U1", "item_id": "I1", "behavior": "view", "rating": null, "timestamp": 1}"#;
        assert!(err(page(&[missing.into()], 0, 10, Some("1"))).contains("missing field `event_id`"));
        let wrong_type = r#"{"seq": 1, "event_id": "e", "user_id": 5, "item_id": "I1", "behavior": "view", "rating": null, "timestamp": 1}"#;
        assert!(err(page(&[wrong_type.into()], 0, 10, Some("1"))).contains("line 1"));
        let bad = r#"{"seq": 1, "event_id": "e", "user_id": "U", "item_id": "I1", "behavior": "like", "rating": null, "timestamp": 1}"#;
        let msg = err(page(&[bad.into()], 0, 10, Some("1")));
        assert!(msg.contains("line 1") && msg.contains("unknown variant `like`"), "{msg}");
        let rating = r#"{"seq": 1, "event_id": "e", "user_id": "U", "item_id": "I1", "behavior": null, "rating": 9, "timestamp": 1, "received_at": 1, "stored_at": 1}"#;
        let msg = err(page(&[rating.into()], 0, 10, Some("1")));
        assert!(msg.contains("event \"e\" (seq 1)") && msg.contains("`rating` 9"), "{msg}");
    }

    #[test]
    fn seq_must_increase_after_the_cursor() {
        assert!(err(page(&[line(5)], 5, 10, Some("5"))).contains("seq 5 but follows 5"));
        assert!(err(page(&[line(7), line(6)], 0, 10, Some("6"))).contains("seq 6 but follows 7"));
    }

    #[test]
    fn a_wrong_or_missing_cursor_header_is_an_error() {
        assert!(err(page(&[line(1), line(2)], 0, 10, Some("1"))).contains("X-Next-Cursor is 1"));
        assert!(err(page(&[line(1)], 0, 10, Some("-1"))).contains("not a non-negative integer"));
        assert!(err(page(&[line(1)], 0, 10, Some("abc"))).contains("not a non-negative integer"));
        assert!(err(page(&[line(1)], 0, 10, None)).contains("no X-Next-Cursor"));
    }

    #[test]
    fn deletion_pages_are_checked_alike() {
        let body = "{\"seq\": 4, \"user_id\": \"U1\", \"deleted_at\": 1767225600123}\n";
        let (lines, next) = parse_lines::<StoredDeletion>(body.as_bytes(), 3, 10, Some("4")).expect("valid");
        assert_eq!(lines, [StoredDeletion { seq: 4, user_id: "U1".into(), deleted_at: 1_767_225_600_123 }]);
        assert_eq!((next, lines[0].covers_until()), (4, 1_767_225_600));
        let err = parse_lines::<StoredDeletion>(body.as_bytes(), 4, 10, Some("4")).expect_err("stale");
        assert!(err.to_string().contains("seq 4 but follows 4"), "{err}");
        let err = parse_lines::<StoredDeletion>(&b"{\"seq\": 5}\n"[..], 0, 10, Some("5")).expect_err("bad");
        assert!(err.to_string().contains("not a deletion"), "{err}");
    }

    #[test]
    fn more_lines_than_the_limit_is_an_error() {
        assert!(err(page(&[line(1), line(2), line(3)], 0, 2, Some("3"))).contains("more than the 2 lines"));
    }
}
