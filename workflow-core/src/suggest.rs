//! Name suggestions: "did you mean" for a misspelt name, and lists of the names there are.

use std::collections::HashSet;

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo (and
/// not merely another short name).
///
/// ```
/// use workflow_core::suggest::closest;
/// assert_eq!(closest("notfy", ["notify", "create_pr"]), Some("notify"));
/// assert_eq!(closest("zzz", ["notify", "create_pr"]), None);
/// ```
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|&(d, c)| d <= (name.len().max(c.len()) / 3).max(1) && d < name.len().min(c.len()))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` for the closest candidate, if there is one.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("; did you mean `{c}`?"))
}

/// `` `a`, `b`, `c` ``: each name once, in order, shortened past eight names.
///
/// ```
/// use workflow_core::suggest::list;
/// assert_eq!(list(["a", "b", "a"]), "`a`, `b`");
/// ```
pub fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen = HashSet::new();
    let unique: Vec<&str> = names.into_iter().filter(|n| seen.insert(*n)).collect();
    let mut shown: Vec<String> = unique.iter().take(8).map(|n| format!("`{n}`")).collect();
    if unique.len() > 8 {
        shown.push(format!("and {} more", unique.len() - 8));
    }
    shown.join(", ")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("notfy", ["notify", "create_pr"]).as_deref(),
            Some("; did you mean `notify`?")
        );
        assert_eq!(did_you_mean("ab", ["cd"]), None);
        assert_eq!(closest("list_isues", ["list_issues", "notify"]), Some("list_issues"));
    }

    #[test]
    fn lists_are_shortened() {
        let names: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
        let text = list(names.iter().map(String::as_str));
        assert!(text.ends_with("`s7`, and 2 more"), "{text}");
    }
}
