//! Bad input: every kind of bad line is reported with its file, line number and reason, and
//! skipped; the rest of the log is still mined. Files that are not logs fail the read.

mod common;

use std::io::Write;

use common::synth::{self, RELIABLE, Truth};
use workflow_mine::{BadReason, LogSource, MinSupport, MineError, Mined, PatternDetector};

fn synthetic() -> (Vec<u8>, Truth) {
    let mut data = Vec::new();
    let truth = synth::generate(11, 400, &mut data).unwrap();
    (data, truth)
}

fn detector() -> PatternDetector {
    PatternDetector::new().min_support(MinSupport::Sessions(20)).max_bad_ratio(0.05)
}

fn reliable_support(mined: &Mined) -> Option<u64> {
    mined.patterns.iter().find(|p| p.tools == RELIABLE.map(String::from)).map(|p| p.support)
}

/// The log's lines with `bad` lines put in after line `at` (1-based numbers in the result).
fn with_lines_after(data: &[u8], at: usize, bad: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in data.split_inclusive(|&b| b == b'\n').enumerate() {
        out.extend_from_slice(line);
        if i + 1 == at {
            for b in bad {
                out.extend_from_slice(b);
                out.push(b'\n');
            }
        }
    }
    out
}

#[test]
fn each_kind_of_bad_line_is_reported_and_the_rest_is_mined() {
    let (data, truth) = synthetic();
    let first_line = data.split(|&b| b == b'\n').next().unwrap().to_vec();
    let bad: Vec<&[u8]> = vec![
        b"{\"session_id\": \"x\", oops}",
        b"\xff\xfe not text",
        b"[1, 2, 3]",
        br#"{"session_id":"x","seq":0,"parameters":{},"result":null,"success":true}"#,
        br#"{"session_id":"x","seq":"zero","tool_name":"t","parameters":{},"result":null,"success":true}"#,
        &first_line,
    ];
    let mut log = with_lines_after(&data, 10, &bad);
    log.extend_from_slice(br#"{"session_id":"x","seq":1,"tool_na"#);
    let mined = detector().mine(&[LogSource::bytes("mixed.jsonl", log)]).unwrap();
    let reports: Vec<(u64, String)> =
        mined.stats.bad_lines.iter().map(|b| (b.line, b.reason.to_string())).collect();
    let total = truth.events + bad.len() as u64 + 1;
    assert_eq!(mined.stats.lines, total);
    assert_eq!(mined.stats.skipped, 6);
    let reasons: Vec<&str> = reports.iter().map(|(_, r)| r.split(':').next().unwrap()).collect();
    assert_eq!(
        reasons,
        vec![
            "invalid JSON",
            "invalid UTF-8 at byte 0",
            "expected a JSON object, found an array",
            "bad event",
            "bad event",
            "truncated last line"
        ]
    );
    assert_eq!(reports.iter().map(|r| r.0).collect::<Vec<_>>(), vec![11, 12, 13, 14, 15, total]);
    assert!(reports[3].1.contains("missing field `tool_name`"), "{}", reports[3].1);
    assert!(reports[4].1.contains("invalid type: string \"zero\""), "{}", reports[4].1);
    assert!(mined.stats.bad_lines.iter().all(|b| b.file == "mixed.jsonl"));
    // The copy of line 1 is a duplicate: reported, counted once.
    assert_eq!(mined.stats.duplicates, 1);
    assert_eq!(mined.stats.duplicate_lines[0].line, 16);
    assert_eq!(mined.stats.events, truth.events);
    assert_eq!(reliable_support(&mined), Some(truth.reliable));
}

#[test]
fn crlf_and_a_bom_are_not_errors() {
    let (data, truth) = synthetic();
    let mut log = b"\xef\xbb\xbf".to_vec();
    log.extend(String::from_utf8(data).unwrap().replace('\n', "\r\n").into_bytes());
    let mined = detector().max_bad_ratio(0.0).mine(&[LogSource::bytes("crlf.jsonl", log)]).unwrap();
    assert_eq!((mined.stats.skipped, mined.stats.events), (0, truth.events));
    assert_eq!(reliable_support(&mined), Some(truth.reliable));
}

#[test]
fn a_50_mb_line_is_skipped_without_stopping_the_read() {
    let (data, truth) = synthetic();
    let mut file = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    let (head, tail) = data.split_at(data.iter().position(|&b| b == b'\n').unwrap() + 1);
    file.write_all(head).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    file.write_all(b"{\"session_id\": \"").unwrap();
    for _ in 0..50 {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(b"\"}\n").unwrap();
    file.write_all(tail).unwrap();
    file.flush().unwrap();
    let mined = detector().mine(&[LogSource::path(file.path())]).unwrap();
    assert_eq!(mined.stats.skipped, 1);
    let bad = &mined.stats.bad_lines[0];
    assert_eq!(bad.line, 2);
    assert_eq!(bad.reason, BadReason::TooLong { len: (50 << 20) + 18, limit: 16 << 20 });
    assert_eq!(mined.stats.events, truth.events);
    assert_eq!(reliable_support(&mined), Some(truth.reliable));
}

#[test]
fn gzip_is_read_whatever_the_file_is_called() {
    let (data, truth) = synthetic();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&data).unwrap();
    let mut file = tempfile::Builder::new().suffix(".jsonl").tempfile().unwrap();
    file.write_all(&gz.finish().unwrap()).unwrap();
    file.flush().unwrap();
    let zipped = detector().mine(&[LogSource::path(file.path())]).unwrap();
    let plain = detector().mine(&[LogSource::bytes("plain", data)]).unwrap();
    assert_eq!(zipped.stats.events, truth.events);
    assert_eq!(zipped.patterns, plain.patterns);
}

#[test]
fn several_files_are_one_log() {
    let (data, truth) = synthetic();
    let cut = data.len() / 2;
    let cut = cut + data[cut..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let parts = [LogSource::bytes("a", data[..cut].to_vec()), LogSource::bytes("b", data[cut..].to_vec())];
    let mined = detector().mine(&parts).unwrap();
    assert_eq!((mined.stats.events, mined.stats.sessions), (truth.events, truth.sessions));
    assert_eq!(reliable_support(&mined), Some(truth.reliable));
}

#[test]
fn an_empty_file_reads_nothing_and_is_no_error() {
    let mined = detector().mine(&[LogSource::bytes("empty.jsonl", Vec::new())]).unwrap();
    assert_eq!((mined.stats.lines, mined.stats.events, mined.patterns.len()), (0, 0, 0));
}

#[test]
fn a_png_called_jsonl_fails_the_read_loudly() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa".to_vec();
    png.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let (data, _) = synthetic();
    let sources = [LogSource::bytes("good.jsonl", data), LogSource::bytes("image.jsonl", png)];
    let err = detector().mine(&sources).unwrap_err();
    let MineError::TooManyBadLines { file, bad, lines, .. } = &err else { panic!("{err}") };
    assert_eq!(file, "image.jsonl");
    assert_eq!(bad, lines);
    assert!(err.to_string().starts_with("image.jsonl: "), "{err}");
}

#[test]
fn a_file_that_cannot_be_opened_is_an_error_naming_it() {
    let err = detector().mine(&[LogSource::path("/no/such/log.jsonl")]).unwrap_err();
    assert!(matches!(err, MineError::Io { .. }));
    assert!(err.to_string().starts_with("/no/such/log.jsonl: "), "{err}");
}
