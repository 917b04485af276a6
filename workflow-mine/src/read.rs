//! Reading logs, streamed: files or bytes, plain or gzip (told by their first bytes), one line at
//! a time through a bounded buffer, bad lines reported and counted.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::{BadLine, BadReason, MineError};
use crate::event::RawEvent;

/// Where a log is read from. A log is read twice by [`PatternDetector`](crate::PatternDetector)
/// (once to count, once for the arguments of the patterns found), so it is a file or bytes
/// rather than a stream.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// A file, plain JSONL or gzip.
    Path(PathBuf),
    /// Bytes in memory, plain JSONL or gzip, and the name to report them by.
    Bytes {
        /// The name used in reports.
        name: String,
        /// The log.
        data: Arc<[u8]>,
    },
}

impl LogSource {
    /// The file at `path`.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        LogSource::Path(path.into())
    }

    /// A log in memory, reported as `name`.
    pub fn bytes(name: impl Into<String>, data: impl Into<Arc<[u8]>>) -> Self {
        LogSource::Bytes { name: name.into(), data: data.into() }
    }

    /// The name used in reports: the path as given, or the name of the bytes.
    pub fn name(&self) -> String {
        match self {
            LogSource::Path(p) => p.display().to_string(),
            LogSource::Bytes { name, .. } => name.clone(),
        }
    }

    /// Its size in bytes as stored (compressed, for gzip), when known.
    pub fn len(&self) -> Option<u64> {
        match self {
            LogSource::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            LogSource::Bytes { data, .. } => Some(data.len() as u64),
        }
    }

    /// Whether it is known to hold no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The log's text, decompressed when it starts with gzip's magic bytes; `read` counts the
    /// bytes taken from the source.
    fn open(&self, read: Rc<Cell<u64>>) -> io::Result<Box<dyn BufRead + '_>> {
        let raw: Box<dyn Read + '_> = match self {
            LogSource::Path(p) => Box::new(File::open(p)?),
            LogSource::Bytes { data, .. } => Box::new(&data[..]),
        };
        let mut buffered = BufReader::with_capacity(1 << 16, Counting { inner: raw, read });
        // A `BufReader`'s first fill of a file or a slice holds all of its first bytes, unless
        // the input is shorter than the magic number.
        let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        Ok(if gzip {
            Box::new(BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(buffered)))
        } else {
            Box::new(buffered)
        })
    }
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// How logs are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The longest line, in bytes, without its newline (16 MiB by default). A longer line is
    /// skipped as bad without being held in memory.
    pub max_line_bytes: usize,
    /// The share of a file's lines that may be bad (0.01 by default). A file with more fails the
    /// read, so that a file that is not a log is an error rather than "no patterns".
    pub max_bad_ratio: f64,
    /// How many bad lines and duplicates are kept for the report (1,000 each by default); all
    /// are counted.
    pub max_reports: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_line_bytes: 16 << 20, max_bad_ratio: 0.01, max_reports: 1000 }
    }
}

/// One line of a log, as read by [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// The line is in the buffer, its newline (and a CR before it) removed; `last` when the
    /// file ended without a newline after it.
    Text { last: bool },
    /// The line was longer than the limit; its bytes were passed over, not kept.
    TooLong { len: u64 },
}

/// The UTF-8 byte order mark, allowed at the start of a file.
const BOM: &[u8] = &[0xef, 0xbb, 0xbf];

/// Lines of a reader, each held in a buffer of at most `limit` bytes.
pub(crate) struct LineReader<R> {
    inner: R,
    limit: usize,
    /// The number of the line last read.
    pub number: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, limit: usize) -> Self {
        LineReader { inner, limit, number: 0 }
    }

    /// The next line into `buf` (cleared first); `None` at the end.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
        buf.clear();
        let mut len: u64 = 0;
        let mut too_long = false;
        let mut ends_cr = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if len == 0 && !too_long {
                    return Ok(None);
                }
                return Ok(Some(self.finish(buf, len, too_long, ends_cr, true)));
            }
            let newline = memchr::memchr(b'\n', available);
            let take = newline.unwrap_or(available.len());
            len += take as u64;
            if take > 0 {
                ends_cr = available[take - 1] == b'\r';
            }
            if !too_long {
                if buf.len() + take > self.limit.saturating_add(1) {
                    too_long = true;
                    buf.clear();
                    buf.shrink_to(1 << 16);
                } else {
                    buf.extend_from_slice(&available[..take]);
                }
            }
            self.inner.consume(take + usize::from(newline.is_some()));
            if newline.is_some() {
                return Ok(Some(self.finish(buf, len, too_long, ends_cr, false)));
            }
        }
    }

    fn finish(&mut self, buf: &mut Vec<u8>, mut len: u64, too_long: bool, ends_cr: bool, last: bool) -> Line {
        self.number += 1;
        if ends_cr {
            buf.pop();
            len -= 1;
        }
        if self.number == 1 && buf.starts_with(BOM) {
            buf.drain(..BOM.len());
            len -= BOM.len() as u64;
        }
        // One byte over the limit is allowed in the buffer for the CR of a CRLF.
        if too_long || len > self.limit as u64 {
            buf.clear();
            Line::TooLong { len }
        } else {
            Line::Text { last }
        }
    }
}

/// What reading a file found, besides its events.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileCount {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Lines that are not blank.
    pub nonblank: u64,
    /// Bad lines.
    pub bad: u64,
}

/// Lines of a file to read, for a read that needs only some events.
pub(crate) struct Wanted<'a> {
    /// Whether to parse this line.
    pub line: &'a dyn Fn(u64) -> bool,
    /// The last line wanted: the read stops after it.
    pub last: u64,
}

/// How many lines are parsed together: read into one buffer, then parsed on two threads.
const BATCH: usize = 4096;

/// A line of a batch, kept for parsing: where its text is in the batch's buffer, or why it is
/// bad already.
struct Pending {
    number: u64,
    text: std::ops::Range<usize>,
    last: bool,
    /// A line that is bad before it is parsed (too long, not UTF-8).
    bad: Option<BadReason>,
}

/// Parses a batch's lines, the second half on another thread: JSON parsing is most of a read,
/// and the lines are independent.
fn parse_batch<'b>(buffer: &'b [u8], lines: &[Pending]) -> Vec<Result<RawEvent<'b>, BadReason>> {
    let parse = |line: &Pending| -> Result<RawEvent<'b>, BadReason> {
        if let Some(reason) = &line.bad {
            return Err(reason.clone());
        }
        match std::str::from_utf8(&buffer[line.text.clone()]) {
            Ok(text) => RawEvent::parse(text, line.last),
            Err(e) => Err(BadReason::InvalidUtf8 { at: e.valid_up_to() }),
        }
    };
    if lines.len() < 256 {
        return lines.iter().map(parse).collect();
    }
    let (first, second) = lines.split_at(lines.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().map(parse).collect::<Vec<_>>());
        let mut parsed: Vec<_> = first.iter().map(parse).collect();
        match other.join() {
            Ok(rest) => parsed.extend(rest),
            // A panic while parsing (there is none to expect) is not lost: parse again here.
            Err(_) => parsed.extend(second.iter().map(parse)),
        }
        parsed
    })
}

/// Reads every line of `source`, calling `event` with each good one (and its line number) and
/// `bad` with each bad one. `wanted`, when given, says which lines to parse: the others are
/// passed over, and the read ends after the last one (used for the second read, which needs
/// only some events).
///
/// Lines are read in batches into one buffer and parsed on two threads (see [`BATCH`]); events
/// and bad lines are still reported one by one, in the order of the lines.
pub(crate) fn read_source(
    source: &LogSource,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64),
    wanted: Option<Wanted<'_>>,
    event: &mut dyn FnMut(u64, &RawEvent<'_>),
    bad: &mut dyn FnMut(BadLine),
) -> Result<FileCount, MineError> {
    let name = source.name();
    let io_error = |source| MineError::Io { file: name.clone(), source };
    let read = Rc::new(Cell::new(0));
    let mut lines = LineReader::new(source.open(read.clone()).map_err(io_error)?, options.max_line_bytes);
    let mut count = FileCount::default();
    let mut first_bad: Option<(u64, BadReason)> = None;
    let mut reported = 0;
    let (mut buf, mut buffer, mut batch) = (Vec::new(), Vec::new(), Vec::with_capacity(BATCH));
    let mut done = false;
    while !done {
        buffer.clear();
        batch.clear();
        while batch.len() < BATCH {
            let Some(line) = lines.next_line(&mut buf).map_err(io_error)? else {
                done = true;
                break;
            };
            let number = lines.number;
            count.lines += 1;
            if number % 4096 == 0 {
                progress(read.replace(0));
            }
            let last = match line {
                Line::TooLong { len } => {
                    let reason = BadReason::TooLong { len, limit: options.max_line_bytes };
                    batch.push(Pending { number, text: 0..0, last: false, bad: Some(reason) });
                    continue;
                }
                Line::Text { .. } if buf.iter().all(u8::is_ascii_whitespace) => continue,
                Line::Text { last } => last,
            };
            if wanted.as_ref().is_some_and(|w| number > w.last) {
                done = true;
                break;
            }
            if wanted.as_ref().is_some_and(|w| !(w.line)(number)) {
                count.nonblank += 1;
                continue;
            }
            let start = buffer.len();
            buffer.extend_from_slice(&buf);
            batch.push(Pending { number, text: start..buffer.len(), last, bad: None });
        }
        for (line, parsed) in batch.iter().zip(parse_batch(&buffer, &batch)) {
            count.nonblank += 1;
            match parsed {
                Ok(e) => event(line.number, &e),
                Err(reason) => {
                    count.bad += 1;
                    if first_bad.is_none() {
                        first_bad = Some((line.number, reason.clone()));
                    }
                    if reported < options.max_reports {
                        reported += 1;
                        bad(BadLine { file: name.clone(), line: line.number, reason });
                    }
                }
            }
        }
    }
    progress(read.replace(0));
    if let Some((first_line, first_reason)) = first_bad {
        if count.bad as f64 > options.max_bad_ratio * count.nonblank as f64 {
            return Err(MineError::TooManyBadLines {
                file: name,
                bad: count.bad,
                lines: count.nonblank,
                max_ratio: options.max_bad_ratio,
                first_line,
                first_reason,
            });
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], limit: usize) -> Vec<(Line, Vec<u8>)> {
        let mut reader = LineReader::new(BufReader::with_capacity(4, text), limit);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(line) = reader.next_line(&mut buf).unwrap() {
            out.push((line, buf.clone()));
        }
        out
    }

    #[test]
    fn lines_lose_their_crlf_and_the_first_its_bom() {
        let got = lines(b"\xef\xbb\xbfab\r\ncd\n\xef\xbb\xbfef", 10);
        assert_eq!(
            got,
            vec![
                (Line::Text { last: false }, b"ab".to_vec()),
                (Line::Text { last: false }, b"cd".to_vec()),
                (Line::Text { last: true }, b"\xef\xbb\xbfef".to_vec()),
            ]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_measured_not_kept() {
        let got = lines(b"0123456789\n0123456789ab\r\nxy", 10);
        assert_eq!(got[0], (Line::Text { last: false }, b"0123456789".to_vec()));
        assert_eq!(got[1], (Line::TooLong { len: 12 }, Vec::new()));
        assert_eq!(got[2], (Line::Text { last: true }, b"xy".to_vec()));
        // Exactly the limit, with a CR: still fine.
        assert_eq!(lines(b"0123456789\r\n", 10)[0], (Line::Text { last: false }, b"0123456789".to_vec()));
        assert_eq!(lines(b"0123456789a\r\n", 10)[0], (Line::TooLong { len: 11 }, Vec::new()));
    }

    #[test]
    fn an_empty_input_has_no_lines_and_a_lone_newline_one() {
        assert!(lines(b"", 10).is_empty());
        assert_eq!(lines(b"\n", 10), vec![(Line::Text { last: false }, Vec::new())]);
    }

    fn read(data: &[u8], ratio: f64) -> (Result<FileCount, MineError>, Vec<u64>, Vec<String>) {
        let source = LogSource::bytes("log", data.to_vec());
        let options = ReadOptions { max_line_bytes: 1000, max_bad_ratio: ratio, max_reports: 10 };
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        let result = read_source(&source, &options, &mut |_| {}, None, &mut |n, _| good.push(n), &mut |b| {
            bad.push(b.to_string())
        });
        (result, good, bad)
    }

    const EVENT: &str =
        r#"{"session_id":"s","seq":0,"tool_name":"t","parameters":{},"result":null,"success":true}"#;

    #[test]
    fn gzip_is_told_by_its_magic_bytes() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        writeln!(gz, "{EVENT}\n{EVENT}").unwrap();
        let (result, good, bad) = read(&gz.finish().unwrap(), 0.0);
        assert_eq!((result.unwrap().lines, good, bad), (2, vec![1, 2], Vec::<String>::new()));
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_fail_the_read_past_the_ratio() {
        let data = format!("{EVENT}\n\n[]\n{EVENT}\n");
        let (result, good, bad) = read(data.as_bytes(), 0.5);
        let count = result.unwrap();
        assert_eq!((count.lines, count.nonblank, count.bad), (4, 3, 1));
        assert_eq!(good, vec![1, 4]);
        assert_eq!(bad, vec!["log:3: expected a JSON object, found an array"]);
        let (result, _, _) = read(data.as_bytes(), 0.2);
        assert_eq!(
            result.unwrap_err().to_string(),
            "log: 1 of 3 lines are bad (33.33 %, more than the 20.00 % allowed); the first: line 3: expected a JSON object, found an array"
        );
    }

    #[test]
    fn a_corrupt_gzip_stream_is_an_error_not_a_panic() {
        let (result, _, _) = read(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xfe], 1.0);
        assert!(matches!(result, Err(MineError::Io { .. })), "{result:?}");
    }
}
