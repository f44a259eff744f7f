//! The host's own log on stderr, safe from forged lines: every control
//! character inside an event (a newline in a tool argument, a plugin's log
//! message, a client's header) is escaped, so one event is one line and a
//! value can never start a line of its own. Also how an error and its
//! causes are written as one message ([`report`]).
//!
//! A leaf: it must not import any other module of the crate.

use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;

/// A [`MakeWriter`] for stderr that escapes control characters within each
/// event. The fmt layer writes one whole event per writer, ending in `\n`;
/// that newline is kept, every other one is written as `\n`.
#[derive(Debug, Clone, Copy)]
pub struct EscapedStderr {
    /// Keep the escape character, for the ANSI colours of a terminal.
    pub ansi: bool,
}

impl<'a> MakeWriter<'a> for EscapedStderr {
    type Writer = EscapingWriter<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter {
            inner: io::stderr(),
            ansi: self.ansi,
        }
    }
}

/// Writes each buffer given to it as one event, escaped.
#[derive(Debug)]
pub struct EscapingWriter<W> {
    inner: W,
    ansi: bool,
}

impl<W: Write> EscapingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, ansi: bool) -> Self {
        Self { inner, ansi }
    }
}

/// `event` with every control character but a final newline escaped.
pub fn escape_event(event: &str, ansi: bool) -> String {
    let (body, end) = match event.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (event, ""),
    };
    let mut out = String::with_capacity(event.len() + 8);
    for c in body.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(c),
            '\u{1b}' if ansi => out.push(c),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push_str(end);
    out
}

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = !text
            .trim_end_matches('\n')
            .chars()
            .any(|c| c.is_control() && c != '\t');
        if clean && !text.contains(['\u{2028}', '\u{2029}']) {
            self.inner.write_all(buf)?;
        } else {
            self.inner
                .write_all(escape_event(&text, self.ansi).as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `error` and its causes (`source()` chain) as one line, `message:
/// cause: cause`, leaving out a cause whose text is already there: berth's
/// errors keep their cause as a source and also show it in their message,
/// so printing only the message loses nothing and this prints it once.
pub fn report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_cannot_start_a_line_of_its_own() {
        let event =
            "INFO plugin log message=hi\n2099-01-01 ERROR berth::auth: api key leaked\r\x07\n";
        let out = escape_event(event, false);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with('\n'));
        assert!(out.contains("hi\\n2099"));
        assert!(out.contains("\\r\\u{7}"));
        assert!(!escape_event("a\u{1b}[31m", false).contains('\u{1b}'));
        assert!(escape_event("a\u{1b}[31m", true).contains('\u{1b}'));
        assert_eq!(escape_event("x\u{2028}y", false), "x\\u{2028}y");
    }

    #[test]
    fn the_writer_passes_clean_events_through_and_escapes_others() {
        let mut buf = Vec::new();
        let mut w = EscapingWriter::new(&mut buf, false);
        w.write_all(b"plain event\n").unwrap();
        w.write_all(b"forged\nline\n").unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "plain event\nforged\\nline\n"
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn layer(text: &'static str, source: Option<Layer>) -> Layer {
        Layer {
            text,
            source: source.map(Box::new),
        }
    }

    #[test]
    fn a_report_shows_each_cause_once() {
        // A message that already shows its cause, whose cause does not.
        let e = layer(
            "x.wasm: cannot read: denied",
            Some(layer("denied", Some(layer("EACCES", None)))),
        );
        assert_eq!(report(&e), "x.wasm: cannot read: denied: EACCES");
        let e = layer(
            "cannot read the configuration file",
            Some(layer("gone", None)),
        );
        assert_eq!(report(&e), "cannot read the configuration file: gone");
        assert_eq!(report(&layer("alone", None)), "alone");
    }
}
