//! The quick start's workflow (`examples/quickstart.rs`), run on known folders.

// The example's `main` is not called here; everything else is.
#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;

use std::path::{Path, PathBuf};

use quickstart::search_report;

/// A fresh folder under the system's temporary folder, for one test.
fn scratch(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("workflow-examples-quickstart-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `tests/data/quickstart/`: four small files, three of which mention `retry`.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quickstart")
}

#[tokio::test]
async fn report_lists_matching_names_and_lines_with_counts() {
    let out = scratch("fixture").join("report.md");
    let run = search_report(fixture(), "retry".to_owned(), out.clone()).run(&()).await.unwrap();

    assert_eq!(run.names.files, ["retry-notes.md"]);
    let hits: Vec<_> = run.lines.hits.iter().map(|h| (h.file.as_str(), h.line)).collect();
    assert_eq!(
        hits,
        [("changelog.txt", 1), ("guide/timeouts.md", 3), ("guide/timeouts.md", 4), ("retry-notes.md", 1)]
    );
    assert_eq!((run.stats.files, run.stats.lines, run.stats.words), (4, 10, 34));

    let report = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
    assert_eq!(run.saved.path, out.display().to_string());
    assert_eq!(run.saved.bytes, report.len());
    assert_eq!(
        report,
        "# Search report: `retry`\n\
         \n\
         Searched 4 files (10 lines, 34 words).\n\
         \n\
         ## File names containing `retry` (1)\n\
         \n\
         - `retry-notes.md`\n\
         \n\
         ## Lines mentioning `retry` (4)\n\
         \n\
         | file | line | text |\n\
         | --- | --- | --- |\n\
         | `changelog.txt` | 1 | v0.2: RETRY with jitter. |\n\
         | `guide/timeouts.md` | 3 | A step that times out may retry. |\n\
         | `guide/timeouts.md` | 4 | Set `retry 3` \\| `timeout 30s` together. |\n\
         | `retry-notes.md` | 1 | # Retry notes |\n"
    );
}

#[tokio::test]
async fn the_three_searches_run_together_before_the_report() {
    let dir = scratch("sample");
    quickstart::write_sample_notes(&dir.join("notes")).await.unwrap();
    let run =
        search_report(dir.join("notes"), "retry".to_owned(), dir.join("report.md")).run(&()).await.unwrap();

    assert_eq!(search_report::LEVELS, &[&["names", "lines", "stats"][..], &["report"], &["saved"]]);
    let step = |id| run.record.step(id).unwrap();
    let searches = [step("names"), step("lines"), step("stats")];
    // The three are polled together, in written order. Records read the clock at each step's
    // end, so a search that does not yield within its poll ends before the next one starts, as
    // it did on this thread; every search still ends before the report starts.
    for pair in searches.windows(2) {
        assert!(pair[0].started <= pair[1].started, "`{}` started after `{}`", pair[0].step, pair[1].step);
    }
    for a in searches {
        assert!(a.finished <= step("report").started);
    }
    assert!(step("report").finished <= step("saved").started);
    assert_eq!((run.names.files.len(), run.lines.hits.len()), (1, 4));
    assert_eq!(run.stats.files, quickstart::SAMPLE_NOTES.len());
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("| `meetings/2024-05-02.md` | 4 | - The export job should retry on timeouts. |"));
    std::fs::remove_dir_all(dir).unwrap();
}
