//! The first read: every event reduced to what counting needs (its tool, its place and whether
//! it succeeded), grouped by session and ordered by `seq`, duplicates dropped.

use rustc_hash::FxHashMap as HashMap;

use crate::event::RawEvent;

/// One call, as counting needs it: 32 bytes, whatever the size of its arguments and result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Call {
    pub seq: u64,
    /// Its line, from 1.
    pub line: u64,
    /// Its file, by index in the sources.
    pub file: u32,
    /// Its tool, by index in [`Sessions::tools`].
    pub tool: u32,
    pub ok: bool,
}

/// Names given numbers in the order first seen.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    pub names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Interner {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        id
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// The sessions of a log, by number in the order first seen.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    pub ids: Interner,
    pub tools: Interner,
    /// Each session's calls.
    pub calls: Vec<Vec<Call>>,
    /// Each session's lowest `seq` so far and the argument shape of that call.
    first: Vec<(u64, u32)>,
    shapes: Interner,
    /// The context group of each session, once [`Sessions::finish`]ed.
    pub group: Vec<u32>,
    /// The context groups: a first tool and the sorted argument keys of its call.
    pub groups: Vec<(u32, String)>,
}

impl Sessions {
    /// Adds the event read at `line` of file `file`.
    pub fn add(&mut self, file: u32, line: u64, event: &RawEvent<'_>) {
        let session = self.ids.id(&event.session_id) as usize;
        let tool = self.tools.id(&event.tool_name);
        if session == self.calls.len() {
            // Most sessions have a few calls: room for them at once, instead of growing 1, 2, 4, 8.
            self.calls.push(Vec::with_capacity(8));
            self.first.push((u64::MAX, 0));
        }
        if event.seq < self.first[session].0 {
            self.first[session] = (event.seq, self.shapes.id(&event.parameter_keys()));
        }
        self.calls[session].push(Call { seq: event.seq, line, file, tool, ok: event.success });
    }

    /// Orders each session by `seq`, drops the calls that repeat a `seq` of their session (the
    /// first read is kept) and returns them, and sorts the sessions into context groups.
    pub fn finish(&mut self) -> Vec<Call> {
        let mut duplicates = Vec::new();
        for calls in &mut self.calls {
            calls.sort_unstable_by_key(|c| (c.seq, c.file, c.line));
            let mut kept = 0;
            for i in 0..calls.len() {
                if kept > 0 && calls[kept - 1].seq == calls[i].seq {
                    duplicates.push(calls[i]);
                } else {
                    calls[kept] = calls[i];
                    kept += 1;
                }
            }
            calls.truncate(kept);
        }
        duplicates.sort_unstable_by_key(|c| (c.file, c.line));
        let mut groups: HashMap<(u32, u32), u32> = HashMap::default();
        self.group = Vec::with_capacity(self.calls.len());
        for (calls, &(_, shape)) in self.calls.iter().zip(&self.first) {
            let tool = calls.first().map_or(0, |c| c.tool);
            let next = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
            let group = *groups.entry((tool, shape)).or_insert(next);
            if group == next {
                self.groups.push((tool, self.shapes.names[shape as usize].clone()));
            }
            self.group.push(group);
        }
        duplicates
    }

    /// The number of events kept.
    pub fn events(&self) -> u64 {
        self.calls.iter().map(|c| c.len() as u64).sum()
    }
}

/// The sessions as sequences of tools, flat: what the counters read.
#[derive(Debug, Default)]
pub(crate) struct Db {
    /// The tools, session after session.
    pub tools: Vec<u32>,
    /// Whether each call succeeded (every call of it, when repeats are collapsed).
    pub ok: Vec<bool>,
    /// The index, in its session's calls, of each position's (first) call.
    pub call: Vec<u32>,
    /// Where each session starts in `tools`; one more entry, the end.
    pub starts: Vec<usize>,
}

impl Db {
    /// The sequences of `sessions`; with `collapse`, a run of calls of one tool is one position.
    pub fn new(sessions: &Sessions, collapse: bool) -> Self {
        let mut db = Db { starts: Vec::with_capacity(sessions.calls.len() + 1), ..Db::default() };
        for calls in &sessions.calls {
            db.starts.push(db.tools.len());
            let start = db.tools.len();
            for (i, c) in calls.iter().enumerate() {
                if collapse && db.tools.len() > start && db.tools.last() == Some(&c.tool) {
                    if let Some(ok) = db.ok.last_mut() {
                        *ok &= c.ok;
                    }
                    continue;
                }
                db.tools.push(c.tool);
                db.ok.push(c.ok);
                db.call.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        db.starts.push(db.tools.len());
        db
    }

    /// The number of sessions.
    pub fn sessions(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The positions of session `s`.
    pub fn range(&self, s: usize) -> std::ops::Range<usize> {
        self.starts[s]..self.starts[s + 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(session: &str, seq: u64, tool: &str, ok: bool, params: &str) -> String {
        format!(
            r#"{{"session_id":"{session}","seq":{seq},"tool_name":"{tool}","parameters":{params},"result":null,"success":{ok}}}"#
        )
    }

    fn sessions(events: &[String]) -> (Sessions, Vec<Call>) {
        let mut s = Sessions::default();
        for (i, line) in events.iter().enumerate() {
            s.add(0, i as u64 + 1, &RawEvent::parse(line, false).unwrap());
        }
        let dups = s.finish();
        (s, dups)
    }

    #[test]
    fn sessions_are_ordered_by_seq_and_lose_their_duplicates() {
        let (s, dups) = sessions(&[
            event("a", 1, "y", true, "{}"),
            event("b", 0, "x", true, r#"{"k":1}"#),
            event("a", 0, "x", true, r#"{"q":1,"p":2}"#),
            event("a", 1, "y", true, "{}"),
        ]);
        let tools: Vec<Vec<u32>> = s.calls.iter().map(|c| c.iter().map(|c| c.tool).collect()).collect();
        assert_eq!(tools, vec![vec![1, 0], vec![1]]);
        assert_eq!(dups.iter().map(|c| c.line).collect::<Vec<_>>(), vec![4]);
        assert_eq!(s.events(), 3);
        assert_eq!(s.groups, vec![(1, "p,q".to_owned()), (1, "k".to_owned())]);
        assert_eq!(s.group, vec![0, 1]);
    }

    #[test]
    fn collapsing_repeats_keeps_one_position_that_fails_if_any_call_failed() {
        let (s, _) = sessions(&[
            event("a", 0, "x", true, "{}"),
            event("a", 1, "y", true, "{}"),
            event("a", 2, "y", false, "{}"),
            event("a", 3, "y", true, "{}"),
            event("a", 4, "x", true, "{}"),
        ]);
        let db = Db::new(&s, true);
        assert_eq!(
            (db.tools.clone(), db.ok.clone(), db.call.clone()),
            (vec![0, 1, 0], vec![true, false, true], vec![0, 1, 4])
        );
        assert_eq!(Db::new(&s, false).tools, vec![0, 1, 1, 1, 0]);
    }
}
