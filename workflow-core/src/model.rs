//! The workflow model: one shape for a workflow, whether `workflow!` read it from tokens or the
//! runtime read it from JSON, YAML or DSL text.
//!
//! Every part keeps where it was written as a span of the caller's type `S`: a
//! `proc_macro2::Span` in the macro, a place in a document at run time. The rules in
//! [`validate`](crate::validate) report problems with those spans, so each rule is written once.

use std::collections::{HashMap, HashSet};

use foldhash::fast::RandomState;

use crate::ast::{Expr, Literal, Path, Template};

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T, S> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: S,
}

impl<T, S> Spanned<T, S> {
    /// `value` written at `span`.
    pub fn new(value: T, span: S) -> Self {
        Self { value, span }
    }
}

/// A name as written (a step id, a tool, an input), and where.
pub type Name<S> = Spanned<String, S>;

/// A workflow: named inputs and steps that call tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow<S> {
    /// Its name.
    pub name: Name<S>,
    /// What it does (its `///` lines or `description`).
    pub doc: String,
    /// Its inputs, when declared. A run-time template may leave them out: every name that is not
    /// a step is then an input, to be supplied when it runs.
    pub inputs: Option<Vec<Input<S>>>,
    /// The steps, in the order written.
    pub steps: Vec<Step<S>>,
}

/// A declared input.
#[derive(Debug, Clone, PartialEq)]
pub struct Input<S> {
    /// Its name, as referenced by `<<name>>` / `{{name}}`.
    pub name: Name<S>,
    /// Its type as written (`String`, `Vec<u64>`), when given.
    pub ty: Option<String>,
}

/// One step: a tool call and its clauses.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<S> {
    /// Its id, unique among the steps.
    pub id: Name<S>,
    /// The tool as written (`github_create_pr`, `tools::search`).
    pub tool: Name<S>,
    /// The arguments, in the order written.
    pub args: Vec<Arg<S>>,
    /// `depends a, b`: steps to run first besides those the step refers to.
    pub depends: Vec<Name<S>>,
    /// `if …`: run only when true.
    pub condition: Option<Condition<S>>,
    /// `retry N …`.
    pub retry: Option<Retry<S>>,
    /// `timeout D`: the limit of one attempt, in milliseconds.
    pub timeout: Option<Spanned<f64, S>>,
    /// `deadline D`: the limit of the step with all its attempts and the waits between them, in
    /// milliseconds.
    pub deadline: Option<Spanned<f64, S>>,
    /// `on_error …`.
    pub on_error: Option<Spanned<OnError, S>>,
    /// `on_error fallback tool(…)`: the call whose output takes the step's place when the step
    /// fails for good.
    pub fallback: Option<Call<S>>,
    /// `compensate tool(…)`: the call that undoes the step when the run fails after it
    /// succeeded.
    pub compensate: Option<Call<S>>,
    /// `after X failed | always`: when the step runs, by how step `X` ended.
    pub after: Option<After<S>>,
    /// `for item in <<list>> [max N] [tolerate K]`: one call per element of a list.
    pub for_each: Option<ForEach<S>>,
}

/// `for item in <<step.list>> [max N] [tolerate K]`: a step that calls its tool once per
/// element of a list known only when it runs, its output the list of the calls' outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ForEach<S> {
    /// The loop variable, read by `<<item>>` in the step's arguments.
    pub item: Name<S>,
    /// The list.
    pub list: Ref<S>,
    /// `max N`: at most `N` calls at once.
    pub max: Option<Spanned<u64, S>>,
    /// `tolerate K`: the step fails only past `K` failed calls.
    pub tolerate: Option<Spanned<u64, S>>,
}

/// A tool call besides a step's own: a fallback or a compensation.
#[derive(Debug, Clone, PartialEq)]
pub struct Call<S> {
    /// The tool as written.
    pub tool: Name<S>,
    /// The arguments, in the order written.
    pub args: Vec<Arg<S>>,
}

/// `after X failed | always`.
#[derive(Debug, Clone, PartialEq)]
pub struct After<S> {
    /// The step `X`.
    pub step: Name<S>,
    /// How `X` must have ended.
    pub when: Spanned<Trigger, S>,
}

/// How the step named by `after` must have ended for the step to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// `after X failed`: only if `X` failed.
    Failed,
    /// `after X always`: once `X` has ended, however it ended.
    Always,
}

impl Trigger {
    /// The word the DSL writes: `failed`, `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Failed => "failed",
            Trigger::Always => "always",
        }
    }
}

/// `name: value` in a step's call.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg<S> {
    /// The parameter's name.
    pub name: Name<S>,
    /// Its value.
    pub value: Value<S>,
}

/// An argument's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<S> {
    /// A whole reference, `<<step.field>>` or `"{{step.field}}"`: the typed value.
    Ref(Ref<S>),
    /// Text with interpolations (`"Fixes #<<list.issues[0].number>>"`).
    Template(TemplateValue<S>),
    /// A literal with nothing to evaluate.
    Literal(Literal),
    /// A list with references inside (run-time workflows).
    List(Vec<Value<S>>),
    /// An object with references inside (run-time workflows).
    Object(Vec<(String, Value<S>)>),
    /// A Rust expression (`<<search.hits>>.len() as u32`): only `workflow!` can evaluate it.
    Rust(RustExpr<S>),
}

/// A reference to an input or a step's output, and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref<S> {
    /// `root.field[0]["key"]`.
    pub path: Path,
    /// Where the reference (its root, in the macro) was written.
    pub span: S,
}

/// Text with interpolations.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateValue<S> {
    /// The parsed text.
    pub template: Template,
    /// Every path it reads, in order, with where each was written.
    pub refs: Vec<Ref<S>>,
}

/// A Rust expression with references spliced in.
#[derive(Debug, Clone, PartialEq)]
pub struct RustExpr<S> {
    /// The source, references written `<<path>>`.
    pub source: String,
    /// Its references.
    pub refs: Vec<Ref<S>>,
    /// Where the expression was written.
    pub span: S,
}

/// An `if` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition<S> {
    /// The condition in the expression language, when it is one (run-time conditions always
    /// are; a `workflow!` condition may be any Rust expression).
    pub expr: Option<Expr>,
    /// The source as written, references as `<<path>>`.
    pub source: String,
    /// Every path it reads.
    pub refs: Vec<Ref<S>>,
    /// Where the condition was written.
    pub span: S,
}

/// `retry N [backoff D [xF]] [max D] [jitter]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry<S> {
    /// How many more calls after a failure.
    pub count: Spanned<u64, S>,
    /// The delay before the first retry, in milliseconds.
    pub backoff: Option<Spanned<f64, S>>,
    /// The factor by which each delay grows.
    pub multiplier: Option<Spanned<f64, S>>,
    /// The longest delay, in milliseconds.
    pub max: Option<Spanned<f64, S>>,
    /// Whether delays are randomised.
    pub jitter: bool,
    /// `on timeout, rate_limited`: the error classes retried (every retryable error when empty).
    pub on: Vec<Name<S>>,
}

/// What a failed step does to the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OnError {
    /// Stop the run (the default).
    #[default]
    Abort,
    /// Record the failure and go on: the steps that need this one follow their trigger rule.
    Skip,
    /// Call the step's fallback; its output takes the step's place.
    Fallback,
}

impl OnError {
    /// The word the DSL writes: `abort`, `skip`, `fallback`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Abort => "abort",
            OnError::Skip => "skip",
            OnError::Fallback => "fallback",
        }
    }
}

impl<S> Value<S> {
    /// Every reference in this value, in order.
    pub fn refs(&self) -> Refs<'_, S> {
        Refs { next: Some(self), one: None, many: [].iter(), nested: Vec::new() }
    }
}

/// The references in a value, in order ([`Value::refs`]). It allocates only for lists and
/// objects, to remember the values still to visit.
#[derive(Debug, Clone)]
pub struct Refs<'a, S> {
    /// The value to visit next.
    next: Option<&'a Value<S>>,
    /// A whole reference, found and not yet returned.
    one: Option<&'a Ref<S>>,
    /// The references of a text or a Rust expression, not yet returned.
    many: std::slice::Iter<'a, Ref<S>>,
    /// The values of lists and objects still to visit, the next one last.
    nested: Vec<&'a Value<S>>,
}

impl<'a, S> Iterator for Refs<'a, S> {
    type Item = &'a Ref<S>;

    fn next(&mut self) -> Option<&'a Ref<S>> {
        loop {
            if let Some(r) = self.one.take().or_else(|| self.many.next()) {
                return Some(r);
            }
            match self.next.take().or_else(|| self.nested.pop())? {
                Value::Ref(r) => self.one = Some(r),
                Value::Template(t) => self.many = t.refs.iter(),
                Value::Rust(r) => self.many = r.refs.iter(),
                Value::Literal(_) => {}
                Value::List(items) => self.nested.extend(items.iter().rev()),
                Value::Object(fields) => self.nested.extend(fields.iter().rev().map(|(_, v)| v)),
            }
        }
    }
}

/// Where in a step a reference was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefSite<'a> {
    /// In the argument with this name.
    Arg(&'a str),
    /// In the condition.
    Condition,
    /// In the fallback call's argument with this name.
    Fallback(&'a str),
    /// In the compensation call's argument with this name.
    Compensate(&'a str),
    /// The list of `for item in <<list>>`.
    ForEach,
}

impl<S> Step<S> {
    /// Every reference the step reads before or while it runs, with where it is: its
    /// arguments', its condition's, its fallback's. A compensation's references are read after
    /// the step, and are not among them ([`compensation_refs`](Self::compensation_refs)).
    pub fn refs(&self) -> impl Iterator<Item = (RefSite<'_>, &Ref<S>)> {
        let args =
            self.args.iter().flat_map(|a| a.value.refs().map(move |r| (RefSite::Arg(&a.name.value), r)));
        let condition = self.condition.iter().flat_map(|c| c.refs.iter().map(|r| (RefSite::Condition, r)));
        let fallback = self.fallback.iter().flat_map(|c| {
            c.args.iter().flat_map(|a| a.value.refs().map(move |r| (RefSite::Fallback(&a.name.value), r)))
        });
        let list = self.for_each.iter().map(|f| (RefSite::ForEach, &f.list));
        args.chain(condition).chain(fallback).chain(list)
    }

    /// The step's loop variable (`for item in …`), if it has one.
    pub fn item(&self) -> Option<&str> {
        self.for_each.as_ref().map(|f| f.item.value.as_str())
    }

    /// The references of the step's compensation, with the argument each is in.
    pub fn compensation_refs(&self) -> impl Iterator<Item = (RefSite<'_>, &Ref<S>)> {
        self.compensate.iter().flat_map(|c| {
            c.args.iter().flat_map(|a| a.value.refs().map(move |r| (RefSite::Compensate(&a.name.value), r)))
        })
    }
}

impl<S> Workflow<S> {
    /// Its step ids and input names, for lookups in constant time.
    pub fn names(&self) -> Names<'_> {
        let mut steps = HashMap::with_capacity_and_hasher(self.steps.len(), RandomState::default());
        for (i, step) in self.steps.iter().enumerate() {
            steps.entry(step.id.value.as_str()).or_insert(i);
        }
        Names { steps, inputs: self.inputs.iter().flatten().map(|i| i.name.value.as_str()).collect() }
    }
}

/// A workflow's step ids (each with the index of the first step of that id) and declared input
/// names.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    steps: HashMap<&'a str, usize, RandomState>,
    inputs: HashSet<&'a str, RandomState>,
}

impl Names<'_> {
    /// The index of the step with id `id`.
    pub fn step(&self, id: &str) -> Option<usize> {
        self.steps.get(id).copied()
    }

    /// Whether `name` is a declared input.
    pub fn is_input(&self, name: &str) -> bool {
        self.inputs.contains(name)
    }
}

/// Where in a workflow a span is, for span mappings that need to know ([`Workflow::map_spans`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    /// The step, by index, if the span is in one.
    pub step: Option<usize>,
    /// What the span is of.
    pub field: Field<'a>,
}

/// What a span is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// The workflow's name.
    Name,
    /// A declared input.
    Input,
    /// A step id.
    Id,
    /// A step's tool.
    Tool,
    /// An argument's name.
    ArgName(&'a str),
    /// Inside an argument's value.
    Arg(&'a str),
    /// A `depends` name.
    Depends,
    /// The condition.
    Condition,
    /// The retry count.
    RetryCount,
    /// The backoff.
    Backoff,
    /// The backoff factor.
    Multiplier,
    /// The longest delay.
    MaxDelay,
    /// The timeout.
    Timeout,
    /// `deadline D`'s duration.
    Deadline,
    /// `on_error`.
    OnError,
    /// The retried error classes (`retry N on timeout`).
    RetryOn,
    /// The fallback's tool.
    FallbackTool,
    /// An argument's name or value in the fallback call.
    Fallback(&'a str),
    /// The compensation's tool.
    CompensateTool,
    /// An argument's name or value in the compensation call.
    Compensate(&'a str),
    /// `after X …`: the step named, or the trigger.
    After,
    /// `for item in <<list>> max N tolerate K`.
    ForEach,
}

impl<S> Workflow<S> {
    /// The same workflow with every span mapped by `f`, which is told where each span is (to turn
    /// a byte range into a place in a document, say).
    pub fn map_spans<T>(self, f: &mut impl FnMut(S, Place<'_>) -> T) -> Workflow<T> {
        let at = |field| Place { step: None, field };
        Workflow {
            name: map_spanned(self.name, &mut |s| f(s, at(Field::Name))),
            doc: self.doc,
            inputs: self.inputs.map(|inputs| {
                let mut g = |s| f(s, at(Field::Input));
                inputs.into_iter().map(|i| Input { name: map_spanned(i.name, &mut g), ty: i.ty }).collect()
            }),
            steps: self.steps.into_iter().enumerate().map(|(i, s)| s.map_spans(i, f)).collect(),
        }
    }
}

impl<S> Step<S> {
    /// The same step (at index `index`) with every span mapped by `f`.
    pub fn map_spans<T>(self, index: usize, f: &mut impl FnMut(S, Place<'_>) -> T) -> Step<T> {
        fn at(index: usize, field: Field<'_>) -> Place<'_> {
            Place { step: Some(index), field }
        }
        let args = self
            .args
            .into_iter()
            .map(|a| {
                let arg = a.name.value.clone();
                let name = map_spanned(a.name, &mut |s| f(s, at(index, Field::ArgName(&arg))));
                Arg { name, value: a.value.map_spans(&mut |s| f(s, at(index, Field::Arg(&arg)))) }
            })
            .collect();
        Step {
            id: map_spanned(self.id, &mut |s| f(s, at(index, Field::Id))),
            tool: map_spanned(self.tool, &mut |s| f(s, at(index, Field::Tool))),
            args,
            depends: self
                .depends
                .into_iter()
                .map(|d| map_spanned(d, &mut |s| f(s, at(index, Field::Depends))))
                .collect(),
            condition: self.condition.map(|c| {
                let mut g = |s| f(s, at(index, Field::Condition));
                Condition { expr: c.expr, source: c.source, refs: map_refs(c.refs, &mut g), span: g(c.span) }
            }),
            retry: self.retry.map(|r| Retry {
                count: map_spanned(r.count, &mut |s| f(s, at(index, Field::RetryCount))),
                backoff: r.backoff.map(|b| map_spanned(b, &mut |s| f(s, at(index, Field::Backoff)))),
                multiplier: r.multiplier.map(|m| map_spanned(m, &mut |s| f(s, at(index, Field::Multiplier)))),
                max: r.max.map(|m| map_spanned(m, &mut |s| f(s, at(index, Field::MaxDelay)))),
                jitter: r.jitter,
                on: r
                    .on
                    .into_iter()
                    .map(|c| map_spanned(c, &mut |s| f(s, at(index, Field::RetryOn))))
                    .collect(),
            }),
            timeout: self.timeout.map(|t| map_spanned(t, &mut |s| f(s, at(index, Field::Timeout)))),
            deadline: self.deadline.map(|d| map_spanned(d, &mut |s| f(s, at(index, Field::Deadline)))),
            on_error: self.on_error.map(|o| map_spanned(o, &mut |s| f(s, at(index, Field::OnError)))),
            fallback: self.fallback.map(|c| {
                c.map_spans(&mut |s, arg| f(s, at(index, arg.map_or(Field::FallbackTool, Field::Fallback))))
            }),
            compensate: self.compensate.map(|c| {
                c.map_spans(&mut |s, arg| {
                    f(s, at(index, arg.map_or(Field::CompensateTool, Field::Compensate)))
                })
            }),
            after: self.after.map(|a| After {
                step: map_spanned(a.step, &mut |s| f(s, at(index, Field::After))),
                when: map_spanned(a.when, &mut |s| f(s, at(index, Field::After))),
            }),
            for_each: self.for_each.map(|e| {
                let mut g = |s| f(s, at(index, Field::ForEach));
                ForEach {
                    item: map_spanned(e.item, &mut g),
                    list: Ref { path: e.list.path, span: g(e.list.span) },
                    max: e.max.map(|m| map_spanned(m, &mut g)),
                    tolerate: e.tolerate.map(|t| map_spanned(t, &mut g)),
                }
            }),
        }
    }
}

impl<S> Call<S> {
    /// The same call with every span mapped by `f`, which is told the argument a span is in
    /// (`None` for the tool).
    pub fn map_spans<T>(self, f: &mut impl FnMut(S, Option<&str>) -> T) -> Call<T> {
        Call {
            tool: map_spanned(self.tool, &mut |s| f(s, None)),
            args: self
                .args
                .into_iter()
                .map(|a| {
                    let arg = a.name.value.clone();
                    let name = map_spanned(a.name, &mut |s| f(s, Some(&arg)));
                    Arg { name, value: a.value.map_spans(&mut |s| f(s, Some(&arg))) }
                })
                .collect(),
        }
    }
}

impl<S> Value<S> {
    /// The same value with every span mapped by `f`.
    pub fn map_spans<T>(self, f: &mut impl FnMut(S) -> T) -> Value<T> {
        match self {
            Value::Ref(r) => Value::Ref(Ref { path: r.path, span: f(r.span) }),
            Value::Template(t) => {
                Value::Template(TemplateValue { template: t.template, refs: map_refs(t.refs, f) })
            }
            Value::Literal(l) => Value::Literal(l),
            Value::List(items) => Value::List(items.into_iter().map(|v| v.map_spans(f)).collect()),
            Value::Object(fields) => {
                Value::Object(fields.into_iter().map(|(k, v)| (k, v.map_spans(f))).collect())
            }
            Value::Rust(r) => {
                Value::Rust(RustExpr { source: r.source, refs: map_refs(r.refs, f), span: f(r.span) })
            }
        }
    }
}

fn map_spanned<V, S, T>(s: Spanned<V, S>, f: &mut impl FnMut(S) -> T) -> Spanned<V, T> {
    Spanned { value: s.value, span: f(s.span) }
}

fn map_refs<S, T>(refs: Vec<Ref<S>>, f: &mut impl FnMut(S) -> T) -> Vec<Ref<T>> {
    refs.into_iter().map(|r| Ref { path: r.path, span: f(r.span) }).collect()
}
