//! Counting chains: contiguous windows or subsequences with gaps, each counted once per session
//! at its first occurrence, and the pruning of chains that a longer one with the same support
//! contains.

use std::hash::Hash;

use rustc_hash::FxHashMap as HashMap;

use crate::session::Db;

/// How often a chain occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Counts {
    /// Sessions in which it occurs.
    pub support: u32,
    /// Sessions whose first occurrence of it succeeded (every call of it did).
    pub ok: u32,
}

/// The chains counted, with their counts.
pub(crate) type Chains = HashMap<Vec<u32>, Counts>;

/// What to count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub min_support: u32,
    pub min_len: usize,
    pub max_len: usize,
}

/// The contiguous chains of `min_len..=max_len` tools in at least `min_support` sessions.
pub(crate) fn contiguous(db: &Db, tools: usize, limits: Limits) -> Chains {
    let bits = u32::BITS - u32::try_from(tools).unwrap_or(u32::MAX).leading_zeros();
    if (bits as usize) * limits.max_len <= 128 {
        // Windows packed into one integer, tool ids from 1 so that lengths differ.
        let counts = count_windows(db, limits, 0u128, |key, tool| (key << bits) | u128::from(tool + 1));
        let mask = (1u128 << bits) - 1;
        let unpack = |mut key: u128| {
            let mut out = Vec::new();
            while key != 0 {
                out.push(u32::try_from(key & mask).unwrap_or(0).saturating_sub(1));
                key >>= bits;
            }
            out.reverse();
            out
        };
        frequent(counts, limits, unpack)
    } else {
        let counts = count_windows(db, limits, Vec::new(), |mut key: Vec<u32>, tool| {
            key.push(tool);
            key
        });
        frequent(counts, limits, |k| k)
    }
}

/// Counts of a window, and the last session that counted it.
#[derive(Clone, Copy)]
struct Tally {
    counts: Counts,
    last: u32,
}

fn count_windows<K: Hash + Eq + Clone>(
    db: &Db,
    limits: Limits,
    empty: K,
    push: impl Fn(K, u32) -> K,
) -> HashMap<K, Tally> {
    let mut map: HashMap<K, Tally> = HashMap::default();
    for s in 0..db.sessions() {
        let session = u32::try_from(s).unwrap_or(u32::MAX);
        let range = db.range(s);
        for i in range.clone() {
            let mut key = empty.clone();
            let mut ok = true;
            for j in i..range.end.min(i + limits.max_len) {
                key = push(key, db.tools[j]);
                ok &= db.ok[j];
                if j + 1 - i < limits.min_len {
                    continue;
                }
                let tally =
                    map.entry(key.clone()).or_insert(Tally { counts: Counts::default(), last: u32::MAX });
                if tally.last != session {
                    tally.last = session;
                    tally.counts.support += 1;
                    tally.counts.ok += u32::from(ok);
                }
            }
        }
    }
    map
}

fn frequent<K>(counts: HashMap<K, Tally>, limits: Limits, unpack: impl Fn(K) -> Vec<u32>) -> Chains {
    counts
        .into_iter()
        .filter(|(_, t)| t.counts.support >= limits.min_support)
        .map(|(k, t)| (unpack(k), t.counts))
        .collect()
}

/// The chains of `min_len..=max_len` tools, in order with any calls between them, in at least
/// `min_support` sessions (PrefixSpan with pseudo-projection: each session is followed from the
/// first, leftmost, occurrence of the prefix).
pub(crate) fn gapped(db: &Db, tools: usize, limits: Limits) -> Chains {
    let mut out = Chains::default();
    // Every session, projected on the empty prefix: (session, last matched position + 1, ok).
    let projection: Vec<(u32, usize, bool)> =
        (0..db.sessions()).map(|s| (u32::try_from(s).unwrap_or(u32::MAX), db.starts[s], true)).collect();
    let mut prefix = Vec::new();
    grow(db, tools, limits, &mut prefix, &projection, &mut out);
    out
}

fn grow(
    db: &Db,
    tools: usize,
    limits: Limits,
    prefix: &mut Vec<u32>,
    projection: &[(u32, usize, bool)],
    out: &mut Chains,
) {
    if prefix.len() == limits.max_len {
        return;
    }
    // One pass over the suffixes projects every extension at once: each tool's first
    // occurrence after the prefix, once per session.
    let mut children: Vec<Vec<(u32, usize, bool)>> = vec![Vec::new(); tools];
    let mut ok_sessions = vec![0u32; tools];
    let mut last = vec![u32::MAX; tools];
    for &(s, from, ok) in projection {
        let end = db.starts[s as usize + 1];
        for (i, &t) in db.tools[from..end].iter().enumerate() {
            let t = t as usize;
            if last[t] != s {
                last[t] = s;
                let ok = ok && db.ok[from + i];
                ok_sessions[t] += u32::from(ok);
                children[t].push((s, from + i + 1, ok));
            }
        }
    }
    drop(last);
    for (tool, next) in children.iter_mut().enumerate() {
        let count = u32::try_from(next.len()).unwrap_or(u32::MAX);
        if count < limits.min_support {
            *next = Vec::new();
            continue;
        }
        let next = std::mem::take(next);
        prefix.push(u32::try_from(tool).unwrap_or(u32::MAX));
        if prefix.len() >= limits.min_len {
            out.insert(prefix.clone(), Counts { support: count, ok: ok_sessions[tool] });
        }
        grow(db, tools, limits, prefix, &next, out);
        prefix.pop();
    }
}

/// Drops every chain that a chain one tool longer contains with the same support (contiguous:
/// as its first or last tools; with gaps: with any one tool left out). Support only falls as a
/// chain grows, so a chain contained in any longer one of equal support is contained in one a
/// tool longer of that support too.
pub(crate) fn keep_closed(chains: &mut Chains, gaps: bool) {
    let mut open = Vec::new();
    for (chain, counts) in chains.iter() {
        let mut covered = |sub: Vec<u32>| {
            if chains.get(&sub).is_some_and(|c| c.support == counts.support) {
                open.push(sub);
            }
        };
        if gaps {
            for i in 0..chain.len() {
                let mut sub = chain.clone();
                sub.remove(i);
                covered(sub);
            }
        } else {
            covered(chain[1..].to_vec());
            covered(chain[..chain.len() - 1].to_vec());
        }
    }
    for chain in open {
        chains.remove(&chain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Db;

    /// A database of sequences, every call a success except where a tool is uppercase.
    fn db(sessions: &[&str]) -> Db {
        let mut db = Db::default();
        for s in sessions {
            db.starts.push(db.tools.len());
            for c in s.chars() {
                db.tools.push(u32::from(c.to_ascii_lowercase()) - u32::from('a'));
                db.ok.push(c.is_ascii_lowercase());
                db.call.push(0);
            }
        }
        db.starts.push(db.tools.len());
        db
    }

    fn chain(text: &str) -> Vec<u32> {
        text.chars().map(|c| u32::from(c) - u32::from('a')).collect()
    }

    fn limits(min_support: u32, max_len: usize) -> Limits {
        Limits { min_support, min_len: 2, max_len }
    }

    #[test]
    fn windows_count_once_per_session_at_their_first_occurrence() {
        let db = db(&["abab", "aBc", "cab"]);
        let chains = contiguous(&db, 3, limits(1, 3));
        // `ab` in all three; the first occurrence fails in the second session only.
        assert_eq!(chains[&chain("ab")], Counts { support: 3, ok: 2 });
        assert_eq!(chains[&chain("ba")], Counts { support: 1, ok: 1 });
        assert_eq!(chains[&chain("aba")], Counts { support: 1, ok: 1 });
        assert!(!chains.contains_key(&chain("abab")), "longer than max_len");
        assert_eq!(contiguous(&db, 3, limits(2, 3)).len(), 1);
    }

    #[test]
    fn packed_and_unpacked_windows_agree() {
        let db = db(&["abcabd", "bcda", "abcd"]);
        let mut packed: Vec<_> = contiguous(&db, 4, limits(1, 4)).into_iter().collect();
        let mut plain: Vec<_> = contiguous(&db, 1 << 30, limits(1, 5)).into_iter().collect();
        plain.retain(|(c, _)| c.len() <= 4);
        packed.sort_by(|a, b| a.0.cmp(&b.0));
        plain.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(packed, plain);
    }

    #[test]
    fn subsequences_allow_gaps_and_follow_the_leftmost_occurrence() {
        let db = db(&["axbxc", "abc", "Abc", "cba"]);
        let chains = gapped(&db, 24, limits(2, 3));
        assert_eq!(chains[&chain("ac")], Counts { support: 3, ok: 2 });
        assert_eq!(chains[&chain("abc")], Counts { support: 3, ok: 2 });
        assert!(!chains.contains_key(&chain("cb")), "in one session only");
    }

    #[test]
    fn chains_inside_a_longer_chain_of_the_same_support_are_pruned() {
        let db = db(&["abcd", "abcd", "abx"]);
        let mut chains = contiguous(&db, 24, limits(2, 4));
        keep_closed(&mut chains, false);
        let mut kept: Vec<_> = chains.keys().cloned().collect();
        kept.sort();
        // `ab` (3 sessions) stays; `bc`, `cd`, `abc`, `bcd` (2) are inside `abcd` (2).
        assert_eq!(kept, vec![chain("ab"), chain("abcd")]);
        let mut chains = gapped(&db, 24, limits(2, 4));
        keep_closed(&mut chains, true);
        let mut kept: Vec<_> = chains.keys().cloned().collect();
        kept.sort();
        assert_eq!(kept, vec![chain("ab"), chain("abcd")]);
    }
}
