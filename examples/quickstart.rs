//! Quick start: search a folder three ways at once, then write a Markdown report.
//!
//! `cargo run --example quickstart` writes a few notes to a temporary folder, runs the
//! `search_report` workflow on them, and prints which steps ran together.

use std::path::{Path, PathBuf};

use workflow::prelude::*;

/// Files whose name contains the search term.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct NameMatches {
    /// Paths relative to the searched folder, sorted.
    pub files: Vec<String>,
}

/// A line that mentions the search term.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Hit {
    /// Path relative to the searched folder.
    pub file: String,
    /// Line number, from 1.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// Lines that mention the search term.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct LineMatches {
    /// Every matching line, by file then line number.
    pub hits: Vec<Hit>,
}

/// The size of a folder's text.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Stats {
    /// Number of files.
    pub files: usize,
    /// Number of lines.
    pub lines: usize,
    /// Number of words.
    pub words: usize,
}

/// A report written to disk.
#[derive(ToolOutput, Serialize, Deserialize, Clone, Debug)]
pub struct Saved {
    /// Where it was written.
    pub path: String,
    /// How many bytes were written.
    pub bytes: usize,
}

/// Find the files under `dir` whose name contains `term` (ignoring case).
#[tool]
pub async fn find_files(dir: PathBuf, term: String) -> Result<NameMatches, ToolError> {
    let term = term.to_lowercase();
    let files = files_under(&dir).await?.into_iter().map(|path| relative(&path, &dir));
    Ok(NameMatches { files: files.filter(|name| name.to_lowercase().contains(&term)).collect() })
}

/// Find the lines of the files under `dir` that mention `term` (ignoring case).
#[tool]
pub async fn grep(dir: PathBuf, term: String) -> Result<LineMatches, ToolError> {
    let term = term.to_lowercase();
    let mut hits = Vec::new();
    for path in files_under(&dir).await? {
        let text = String::from_utf8_lossy(&tokio::fs::read(&path).await?).into_owned();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| l.to_lowercase().contains(&term)) {
            hits.push(Hit { file: relative(&path, &dir), line: i + 1, text: line.trim().to_owned() });
        }
    }
    Ok(LineMatches { hits })
}

/// Count the files, lines and words under `dir`.
#[tool]
pub async fn count_lines(dir: PathBuf) -> Result<Stats, ToolError> {
    let mut stats = Stats { files: 0, lines: 0, words: 0 };
    for path in files_under(&dir).await? {
        let text = String::from_utf8_lossy(&tokio::fs::read(&path).await?).into_owned();
        stats.files += 1;
        stats.lines += text.lines().count();
        stats.words += text.split_whitespace().count();
    }
    Ok(stats)
}

/// Combine the three searches for `term` into a Markdown report.
#[tool]
pub async fn format_report(
    term: String,
    names: NameMatches,
    lines: LineMatches,
    stats: Stats,
) -> Result<String, ToolError> {
    let mut md = format!("# Search report: `{term}`\n\n");
    md += &format!("Searched {} files ({} lines, {} words).\n\n", stats.files, stats.lines, stats.words);
    md += &format!("## File names containing `{term}` ({})\n\n", names.files.len());
    for file in &names.files {
        md += &format!("- `{file}`\n");
    }
    md += &format!("\n## Lines mentioning `{term}` ({})\n\n", lines.hits.len());
    md += "| file | line | text |\n| --- | --- | --- |\n";
    for hit in &lines.hits {
        md += &format!("| `{}` | {} | {} |\n", hit.file, hit.line, hit.text.replace('|', "\\|"));
    }
    Ok(md)
}

/// Write `markdown` to the file `path`, creating its folder if needed.
#[tool]
pub async fn save_report(path: PathBuf, markdown: String) -> Result<Saved, ToolError> {
    if let Some(folder) = path.parent() {
        tokio::fs::create_dir_all(folder).await?;
    }
    tokio::fs::write(&path, &markdown).await?;
    Ok(Saved { path: path.display().to_string(), bytes: markdown.len() })
}

workflow! {
    /// Search a folder by file name and by content, count its lines, and save a Markdown report.
    pub search_report(dir: PathBuf, term: String, out: PathBuf) {
        names  = find_files(dir: <<dir>>, term: <<term>>);
        lines  = grep(dir: <<dir>>, term: <<term>>);
        stats  = count_lines(dir: <<dir>>);
        report = format_report(term: <<term>>, names: <<names>>, lines: <<lines>>, stats: <<stats>>);
        saved  = save_report(path: <<out>>, markdown: <<report>>);
    }
}

/// Writes the sample notes, runs the workflow on them, and shows what ran when.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join("workflow-quickstart");
    let notes = root.join("notes");
    write_sample_notes(&notes).await?;

    let run = search_report(notes, "retry".to_owned(), root.join("report.md")).run(&()).await?;

    println!("Levels (the steps of a level run concurrently):");
    for (i, level) in search_report::LEVELS.iter().enumerate() {
        println!("  {}. {}", i + 1, level.join(", "));
    }
    println!("\n  {:<8}{:<15}{:>10}{:>10}", "step", "tool", "start", "took");
    for step in &run.record.steps {
        let start = step.started.map(|t| t.saturating_duration_since(run.record.started));
        let start = format!("+{:.1?}", start.unwrap_or_default());
        let took = format!("{:.1?}", step.duration().unwrap_or_default());
        println!("  {:<8}{:<15}{start:>10}{took:>10}", step.step, step.tool);
    }
    println!(
        "\n{} file name(s) and {} line(s) mention `retry`; report ({} bytes) written to {}",
        run.names.files.len(),
        run.lines.hits.len(),
        run.saved.bytes,
        run.saved.path,
    );
    Ok(())
}

/// Sample notes for the example to search.
pub const SAMPLE_NOTES: &[(&str, &str)] = &[
    (
        "retry-policy.md",
        "# Retry policy\n\nRetry transient errors three times with exponential backoff.\n\
         Never retry a request that was rejected as invalid.\n",
    ),
    (
        "meetings/2024-05-02.md",
        "# Weekly sync\n\n- Deploy moved to Friday.\n- The export job should retry on timeouts.\n",
    ),
    ("meetings/2024-05-09.md", "# Weekly sync\n\n- Deploy done.\n- New dashboard is live.\n"),
    ("ideas.txt", "Cache search results.\nShow progress while a workflow runs.\n"),
];

/// Writes [`SAMPLE_NOTES`] under `dir`.
pub async fn write_sample_notes(dir: &Path) -> std::io::Result<()> {
    for (name, text) in SAMPLE_NOTES {
        let path = dir.join(name);
        if let Some(folder) = path.parent() {
            tokio::fs::create_dir_all(folder).await?;
        }
        tokio::fs::write(path, text).await?;
    }
    Ok(())
}

/// Every file under `dir`, sorted.
async fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (mut files, mut folders) = (Vec::new(), vec![dir.to_path_buf()]);
    while let Some(folder) = folders.pop() {
        let mut entries = tokio::fs::read_dir(folder).await?;
        while let Some(entry) = entries.next_entry().await? {
            let list = if entry.file_type().await?.is_dir() { &mut folders } else { &mut files };
            list.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// `path` relative to `dir`, with `/` between folders on every platform.
fn relative(path: &Path, dir: &Path) -> String {
    let parts = path.strip_prefix(dir).unwrap_or(path).components();
    parts.map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}
