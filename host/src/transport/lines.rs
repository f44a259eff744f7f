//! Newline-delimited framing for the stdio transport, bounded and lossless:
//! a line that is too long or not UTF-8 is reported as such and skipped,
//! and reading goes on with the next line.
//!
//! Owns byte-level framing only; it must not import `protocol` (what to
//! answer to a bad line is the transport's business).

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line, without its `\n` (a trailing `\r` is kept).
    Text(String),
    /// A line longer than the limit; its bytes were discarded.
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Reads lines of at most `max` bytes from `inner`. Memory use is bounded
/// by `max` plus the reader's buffer, whatever the input.
pub(crate) struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            max,
            buf: Vec::new(),
        }
    }

    /// The next line; `None` at the end of input. A last line without a
    /// newline counts.
    ///
    /// Not cancellation-safe: dropping the future may lose part of a line.
    ///
    /// # Errors
    /// An I/O error of the input.
    pub(crate) async fn next(&mut self) -> std::io::Result<Option<Line>> {
        self.buf.clear();
        let mut too_long = false;
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if too_long {
                    return Ok(Some(Line::TooLong));
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
                break;
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            if !too_long {
                if self.buf.len() + chunk.len() > self.max {
                    too_long = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(newline.is_some());
            self.inner.consume(used);
            if newline.is_some() {
                break;
            }
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        Ok(Some(
            match String::from_utf8(std::mem::take(&mut self.buf)) {
                Ok(text) => Line::Text(text),
                Err(_) => Line::NotUtf8,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{Line, LineReader};
    use tokio::io::BufReader;

    async fn all(input: &[u8], max: usize, buffer: usize) -> Vec<Line> {
        let mut r = LineReader::new(BufReader::with_capacity(buffer, input), max);
        let mut out = Vec::new();
        while let Some(line) = r.next().await.unwrap() {
            out.push(line);
        }
        out
    }

    fn text(s: &str) -> Line {
        Line::Text(s.to_owned())
    }

    #[tokio::test]
    async fn bad_lines_are_reported_and_reading_goes_on() {
        let input = b"one\n\xff\xfe\ntoo long line\ntwo\r\nlast";
        for buffer in [1, 3, 64] {
            assert_eq!(
                all(input, 8, buffer).await,
                vec![
                    text("one"),
                    Line::NotUtf8,
                    Line::TooLong,
                    text("two\r"),
                    text("last")
                ],
                "buffer {buffer}"
            );
        }
    }

    #[tokio::test]
    async fn limits_are_exact_and_end_of_input_is_clean() {
        assert_eq!(all(b"12345678\n", 8, 4).await, vec![text("12345678")]);
        assert_eq!(all(b"123456789\n", 8, 4).await, vec![Line::TooLong]);
        assert_eq!(all(b"123456789", 8, 4).await, vec![Line::TooLong]);
        assert_eq!(all(b"\n\n", 8, 4).await, vec![text(""), text("")]);
        assert!(all(b"", 8, 4).await.is_empty());
    }
}
