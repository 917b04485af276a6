//! The code a `workflow!` becomes: `quote!` and nothing else.
//!
//! For a workflow `name(inputs) { steps }`:
//! - `struct name { inputs }` and `fn name(inputs) -> name`, so `name(a, b).run(&state)` reads
//!   like a call, and `name::LEVELS`, `name::STEPS` reach its plan;
//! - `struct NameOutputs`, one field per step (`Option<_>` for a step that may not run);
//! - `name::run`, whose body awaits one level at a time (`join!` of the level's steps), each
//!   step being its own `async fn` driven by the runtime's step driver, or, for a plain step
//!   (no policy, condition or trigger rule), its arguments and its tool's call handed to the
//!   driver's short way (`exec::Plain`). Keeping steps in their own functions or closures keeps
//!   type-checking linear in the number of steps.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use std::collections::{BTreeMap, BTreeSet};
use syn::ext::IdentExt as _;

use syn::{Ident, LitStr};

use workflow_core::graph::Graph as Plan;
use workflow_core::policy::StepPolicy;

use super::ast::{Call, OnError, Piece, Segment, Step, StepRef, StrPart, Value, WorkflowDef};
use super::validate::CheckedDef;
use crate::paths::{private, private_at};

pub(crate) fn workflow(checked: &CheckedDef<'_>) -> TokenStream {
    let (def, plan) = (&*checked.def, &checked.checked.graph);
    let p = private();
    let WorkflowDef { attrs, vis, name, inputs, steps, .. } = def;
    let outputs = format_ident!("{}Outputs", camel_case(&name.to_string()), span = name.span());
    let input_names: Vec<&Ident> = inputs.iter().map(|i| &i.ident).collect();
    let input_types: Vec<&syn::Type> = inputs.iter().map(|i| &i.ty).collect();
    let step_ids: Vec<&Ident> = steps.iter().map(|s| &s.id).collect();
    let step_names: Vec<String> = step_ids.iter().map(ToString::to_string).collect();
    let outputs_name = outputs.to_string();
    let output_types: Vec<TokenStream> = (0..steps.len()).map(|i| output_type(def, plan, i)).collect();
    let mut tools: Vec<Ident> = steps.iter().map(|s| tool_alias(def, s)).collect();
    let mut tool_paths: Vec<&syn::Path> = steps.iter().map(|s| &s.tool).collect();
    for step in steps {
        if let Some(call) = &step.fallback {
            tools.push(call_alias(def, step, "fb", call));
            tool_paths.push(&call.tool);
        }
        if let Some(call) = &step.compensate {
            tools.push(call_alias(def, step, "cp", call));
            tool_paths.push(&call.tool);
        }
    }
    let description = crate::dsl::doc_text(attrs);
    let workflow_name = name.to_string();
    let outputs_doc = format!("Outputs of the [`{name}`](struct@{name}) workflow: one field per step.");
    let ctor_doc =
        format!("The [`{name}`](struct@{name}) workflow with these inputs; `.run(&state).await` runs it.");
    let levels = plan.levels.iter().map(|level| {
        let ids = level.iter().map(|&i| steps[i].id.to_string());
        quote!(&[#(#ids),*])
    });
    let infos = steps.iter().enumerate().map(|(i, step)| {
        let (id, tool) = (step.id.to_string(), tool_alias(def, step));
        let needs = plan.needs[i].iter().map(|&n| steps[n].id.to_string());
        quote!(#p::StepInfo { id: #id, tool: <#tool as #p::Tool>::NAME, needs: &[#(#needs),*] })
    });
    // Plain steps of a workflow without trigger rules take the driver's short way, and need no
    // step function.
    let short_way = !is_general(def);
    let plain: Vec<bool> =
        (0..steps.len()).map(|i| short_way && is_plain(def, plan, &checked.checked.policies[i], i)).collect();
    let step_fns = (0..steps.len()).map(|i| step_fn(def, plan, &checked.unresolved[i], i));
    let step_fns = step_fns.zip(&plain).filter(|(_, plain)| !**plain).map(|(f, _)| f);
    let compensation_fns = (0..steps.len()).map(|i| compensation_fn(def, plan, &checked.unresolved[i], i));
    let holders = field_holders(def);
    let specs = steps
        .iter()
        .zip(&checked.checked.policies)
        .map(|(step, policy)| spec(step, &tool_alias(def, step), policy));
    let template = template(checked);
    let c = &checked.checked;
    let worst_case = option(
        workflow_core::policy::worst_case(&c.workflow, &c.graph, &c.policies, def.eager.is_some())
            .map(duration),
    );
    let body = run_body(def, plan, &checked.unresolved, &plain);
    let input_docs = input_names.iter().map(|input| format!("The input `{input}`."));
    let step_docs = steps.iter().map(|step| format!("The output of the step `{}`.", step.id));
    quote! {
        #(
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            type #tools = #tool_paths;
        )*

        #(#attrs)*
        #[allow(non_camel_case_types)]
        #vis struct #name { #(#[doc = #input_docs] pub #input_names: #input_types),* }

        #[doc = #outputs_doc]
        #[derive(#p::serde::Serialize)]
        #[serde(crate = "::workflow::__private::serde")]
        #vis struct #outputs { #(#[doc = #step_docs] pub #step_ids: #output_types),* }

        impl ::core::fmt::Debug for #outputs {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#outputs_name)
                    #(.field(#step_names, &#p::DebugJson(&self.#step_ids)))*
                    .finish()
            }
        }

        #[doc = #ctor_doc]
        #vis fn #name(#(#input_names: #input_types),*) -> #name {
            #name { #(#input_names),* }
        }

        impl #name {
            /// The workflow's name.
            pub const NAME: &'static str = #workflow_name;
            /// What the workflow does, from its doc comment.
            pub const DESCRIPTION: &'static str = #description;
            /// Step ids by level: the steps of a level run concurrently, after every earlier level.
            pub const LEVELS: &'static [&'static [&'static str]] = &[#(#levels),*];
            /// Every step with the tool it calls and the steps it needs.
            pub const STEPS: &'static [#p::StepInfo] = &[#(#infos),*];
            /// What the step driver runs for each step, in written order: retry policy and
            /// timeout, defaults filled in as for a run-time workflow.
            pub const SPECS: &'static [#p::StepSpec] = &[#(#specs),*];
            /// The longest a run can take, from its steps' timeouts, deadlines, retries and
            /// backoffs along its longest path (and, for a run that fails, its compensations):
            /// `None` when a step has no time limit.
            pub const WORST_CASE: #p::Option<#p::Duration> = #worst_case;

            /// The workflow as data: what `WorkflowTemplate::from_dsl` gives for the same source.
            /// A Rust expression argument is kept as `{"$rust": "<source>"}`.
            pub fn template() -> #p::WorkflowTemplate {
                #template
            }

            /// Runs the workflow: level by level, the steps of a level concurrently.
            ///
            /// The argument is a reference to the shared state the tools take through `State<T>`
            /// (`&()` when none does), or a `RunContext` around it with observers. Dropping the
            /// returned future cancels every step in flight.
            #[allow(clippy::redundant_closure_call, clippy::too_many_lines, unused_variables)]
            pub async fn run<'__wf, __WfState: ?::core::marker::Sized + ::core::marker::Sync + '__wf>(
                self,
                __wf_context: impl ::core::convert::Into<#p::RunContext<'__wf, __WfState>>,
            ) -> #p::Result<#p::Run<#outputs>, #p::Box<#p::WorkflowError>>
            where #(#tools: #p::CallTool<__WfState>,)*
            {
                #holders
                #(#step_fns)*
                #(#compensation_fns)*
                let __wf_ctx: #p::RunContext<'_, _> = ::core::convert::Into::into(__wf_context);
                #p::exec::in_run_span(#workflow_name, __wf_ctx.jitter_seed(), __wf_ctx.call_limit(), __wf_ctx.journal_slot(), async move { #body }).await
            }
        }
    }
}

/// The output type of step `i`: the tool's output, in an `Option` when the step may not run.
fn output_type(def: &WorkflowDef, plan: &Plan, i: usize) -> TokenStream {
    let p = private();
    let ty = call_output_type(def, i);
    if plan.skippable[i] { quote!(#p::Option<#ty>) } else { ty }
}

/// The output of step `i`'s call: the tool's output (a `Vec` of them for a `for` step).
fn call_output_type(def: &WorkflowDef, i: usize) -> TokenStream {
    let p = private();
    let tool = tool_alias(def, &def.steps[i]);
    let ty = quote_spanned!(tool.span()=> <#tool as #p::Tool>::Output);
    match &def.steps[i].for_each {
        None => ty,
        Some(f) if f.tolerate.is_some() => quote!(#p::Vec<#p::Option<#ty>>),
        Some(_) => quote!(#p::Vec<#ty>),
    }
}

fn tool_span(tool: &syn::Path) -> Span {
    tool.segments.last().map_or_else(Span::call_site, |s| s.ident.span())
}

/// The hidden alias of a step's fallback (`fb`) or compensation (`cp`) tool.
pub(crate) fn call_alias(def: &WorkflowDef, step: &Step, kind: &str, call: &Call) -> Ident {
    format_ident!("__wf_{}_{}_{}", kind, def.name, step.id, span = tool_span(&call.tool))
}

/// The hidden alias through which generated code names step `step`'s tool. Naming the tool once
/// means a misspelt tool is reported once, at its name in the DSL.
pub(crate) fn tool_alias(def: &WorkflowDef, step: &Step) -> Ident {
    format_ident!("__wf_tool_{}_{}", def.name, step.id, span = tool_span(&step.tool))
}

/// The parameters by which step `i` receives what it needs: outputs it reads, and outputs of
/// steps that may not run (to know whether they did).
fn passed(plan: &Plan, i: usize) -> Vec<usize> {
    let after = plan.after[i].map(|(x, _)| x);
    plan.needs[i]
        .iter()
        .copied()
        .filter(|&n| {
            Some(n) != after
                && !plan.any_end[i].contains(&n)
                && (plan.reads[i].contains(&n) || plan.skippable[n])
        })
        .collect()
}

/// The variable holding how step `root` ended, for a condition that tests it.
fn status_var(root: &Ident) -> Ident {
    format_ident!("__wf_st_{}", root, span = root.span())
}

/// The steps whose status step `i`'s condition tests, ascending.
fn status_roots(def: &WorkflowDef, i: usize) -> Vec<usize> {
    let Some(condition) = &def.steps[i].condition else { return Vec::new() };
    let mut roots = BTreeSet::new();
    for r in condition.refs() {
        if let [Segment::Status(_)] = r.path.as_slice() {
            if let Some(n) = def.steps.iter().position(|s| s.id == r.root) {
                roots.insert(n);
            }
        }
    }
    roots.into_iter().collect()
}

/// The variable holding the current element of a `for` step's list.
fn item_var(item: &Ident) -> Ident {
    format_ident!("__wf_it_{}", item, span = item.span())
}

fn out_var(step: &Step) -> Ident {
    format_ident!("__wf_o_{}", step.id)
}

/// A plain step ([`is_plain`]) as the driver's short way takes it: its arguments and its tool's
/// call, with `slot` its record and the outputs it reads in scope as references.
fn plain_call(def: &WorkflowDef, i: usize, slot: &Ident, unresolved: &BTreeSet<String>) -> TokenStream {
    let p = private();
    let (name, step) = (&def.name, &def.steps[i]);
    let tool = tool_alias(def, step);
    let literal = call_literal(def, &tool, &step.tool, &step.args, unresolved);
    quote! {{
        // The step's values are written in the DSL, where clippy's suggestions cannot apply.
        #[allow(non_snake_case, unreachable_code, unused_parens, clippy::all, clippy::pedantic)]
        let __wf_make = move || -> #p::Result<#tool, #p::StepError> {
            #[allow(unused_imports)]
            use #p::access::Own as _;
            #p::Ok(#literal)
        };
        #p::exec::Plain::new(
            &#name::SPECS[#i],
            #slot,
            __wf_make,
            move |__wf_args: #tool| #p::CallTool::call(__wf_args, __wf_state),
        )
    }}
}

/// Whether the workflow has trigger rules, compensations or conditions on how a step ended: its
/// body then keeps every output in an `Option` and goes on through the levels while it stops.
fn is_general(def: &WorkflowDef) -> bool {
    def.steps
        .iter()
        .enumerate()
        .any(|(i, s)| s.after.is_some() || s.compensate.is_some() || !status_roots(def, i).is_empty())
}

/// Whether step `i` can take the driver's short way (the runtime's `exec::Plain`):
/// it calls its tool once, with no time limit, fallback, condition, trigger rule or `for`, and
/// reads no output that may be missing.
fn is_plain(def: &WorkflowDef, plan: &Plan, policy: &StepPolicy, i: usize) -> bool {
    let step = &def.steps[i];
    policy.retry.retries == 0
        && policy.timeout.is_none()
        && policy.deadline.is_none()
        && step.fallback.is_none()
        && step.compensate.is_none()
        && step.for_each.is_none()
        && step.condition.is_none()
        && step.after.is_none()
        && !plan.skippable[i]
        && passed(plan, i).iter().all(|&n| !plan.skippable[n])
        && status_roots(def, i).is_empty()
}

/// `async fn __wf_step_<id>`: skip checks, the condition, and the call through the driver.
fn step_fn(def: &WorkflowDef, plan: &Plan, unresolved: &BTreeSet<String>, i: usize) -> TokenStream {
    let p = private();
    let step = &def.steps[i];
    let resolved = |v: &Value| v.refs().iter().all(|r| !unresolved.contains(&r.root.to_string()));
    let omitted = |span: Span| quote_spanned!(span=> ::core::unreachable!("a reference reported above"));
    let (name, tool) = (&def.name, tool_alias(def, step));
    let fn_name = format_ident!("__wf_step_{}", step.id);
    let params = passed(plan, i).into_iter().map(|n| {
        let (var, ty) = (out_var(&def.steps[n]), output_type(def, plan, n));
        quote!(#var: &#ty)
    });
    let statuses = status_roots(def, i).into_iter().map(|n| {
        let var = status_var(&def.steps[n].id);
        quote!(#var: #p::exec::Status)
    });
    let unwrap_skipped = passed(plan, i).into_iter().filter(|&n| plan.skippable[n]).map(|n| {
        let var = out_var(&def.steps[n]);
        let reason = format!("`{}` did not run", def.steps[n].id);
        quote! {
            let #var = match #var {
                #p::Some(v) => v,
                #p::None => return #p::exec::skip(__wf_record, #reason),
            };
        }
    });
    let condition = step.condition.as_ref().map(|cond| {
        let expr = if resolved(cond) { value_tokens(def, &cond.pieces) } else { omitted(cond.span.0) };
        let typed = quote_spanned!(cond.span.0=> let __wf_c: bool = #expr;);
        quote! {
            match (|| -> #p::Result<bool, #p::StepError> { #typed #p::Ok(__wf_c) })() {
                #p::Ok(true) => {}
                #p::Ok(false) => return #p::exec::skip(__wf_record, "its condition is false"),
                #p::Err(e) => return #p::exec::fail(__wf_record, e),
            }
        }
    });
    let args = call_literal(def, &tool, &step.tool, &step.args, unresolved);
    let position = proc_macro2::Literal::usize_unsuffixed(i);
    let finish = match (plan.skippable[i], &step.on_error) {
        (true, Some(OnError::Skip(_))) => quote!(#p::exec::failure_skips(__wf_outcome)),
        (true, _) => quote!(#p::exec::some(__wf_outcome)),
        (false, _) => quote!(__wf_outcome),
    };
    let out_ty = output_type(def, plan, i);
    // A retried tool that is not idempotent: a deprecation warning at `retry`.
    let idempotency = step.retry.as_ref().map(|retry| {
        let at = retry.keyword;
        let p = private_at(at);
        quote_spanned!(at=> let _ = #p::exec::Idempotency::<{ <#tool as #p::Tool>::IDEMPOTENT }>::RETRIED;)
    });
    let fallback = step.fallback.as_ref().map(|call| {
        let fb = call_alias(def, step, "fb", call);
        let args = call_literal(def, &fb, &call.tool, &call.args, unresolved);
        let same = quote_spanned!(tool_span(&call.tool)=> #p::exec::fallback_output::<#tool, #fb>);
        quote! {
            let __wf_outcome = #p::exec::fall_back(&#name::SPECS[#position], <#fb as #p::Tool>::NAME, __wf_record, __wf_outcome, move || async move {
                let __wf_args = #args;
                #same(#p::CallTool::call(__wf_args, __wf_state).await).map_err(#p::exec::tool_error(<#fb as #p::Tool>::NAME))
            })
            .await;
        }
    });
    let call_ty = call_output_type(def, i);
    // A journaled run: the output recorded by an earlier attempt of the run, or the call with its
    // start and end journaled (with its arguments, for a step that is not a `for` step).
    let args_json = match &step.for_each {
        None => quote!(#p::Some(#p::Tool::arguments_json(&(#args)))),
        Some(_) => quote!(#p::None),
    };
    // A `for` step's calls are journaled one by one (by `fan_out`), as idempotent or not; the
    // step itself may be called again, since its calls that succeeded are not.
    let step_idempotent = match &step.for_each {
        None => quote!(<#tool as #p::Tool>::IDEMPOTENT),
        Some(_) => quote!(true),
    };
    let replay = quote! {
        let __wf_journal = match #p::exec::journaled::replay::<#call_ty>(&#name::SPECS[#position], __wf_record, #step_idempotent) {
            #p::exec::journaled::Replayed::Done(__wf_outcome) => return #finish,
            #p::exec::journaled::Replayed::Run(__wf_journal) => __wf_journal,
        };
        if let #p::Some(__wf_j) = &__wf_journal {
            if let #p::Err(__wf_e) = __wf_j.started(#step_idempotent).await {
                return #p::exec::fail(__wf_record, __wf_e);
            }
        }
    };
    let settle = quote! {
        let __wf_outcome = match __wf_journal {
            #p::Some(__wf_j) => __wf_j.settle(__wf_record, __wf_outcome, #args_json).await,
            #p::None => __wf_outcome,
        };
    };
    let call = match &step.for_each {
        None => quote! {
            let __wf_outcome = #p::exec::drive(&#name::SPECS[#position], __wf_record, move || async move {
                let __wf_args = #args;
                #p::CallTool::call(__wf_args, __wf_state).await.map_err(#p::exec::tool_error(<#tool as #p::Tool>::NAME))
            })
            .await;
        },
        Some(f) => {
            let list = if unresolved.contains(&f.list.root.to_string()) {
                omitted(f.list.open)
            } else {
                let mut place = Group::new(Delimiter::Parenthesis, place(def, &f.list));
                place.set_span(f.list.open);
                quote!(#place)
            };
            let path = LitStr::new(&ref_text(&f.list), f.list.open);
            let at = private_at(f.list.open);
            let items = quote_spanned!(f.list.open=> #at::access::Items::wf_items(&#list, #path));
            let item = item_var(&f.item);
            let max = option(f.max.as_ref().map(|m| {
                let n = m.base10_parse::<usize>().unwrap_or(1);
                quote!(#n)
            }));
            let tolerate = f.tolerate.as_ref().map_or(0, |t| t.base10_parse::<usize>().unwrap_or(0));
            // Spanned at the list, where a list that is not one is reported.
            let count = quote_spanned!(f.list.open=> __wf_items.len());
            let element = quote_spanned!(f.list.open=> __wf_items[__wf_i]);
            let all =
                f.tolerate.is_none().then(|| quote!(let __wf_outcome = #p::exec::all_items(__wf_outcome);));
            quote! {
                let __wf_items = #items;
                let __wf_items = match __wf_items {
                    #p::Ok(items) => items,
                    #p::Err(e) => return #p::exec::fail(__wf_record, e),
                };
                let __wf_count = #count;
                let __wf_outcome = #p::exec::fan_out(&#name::SPECS[#position], __wf_record, __wf_count, #max, #tolerate, <#tool as #p::Tool>::IDEMPOTENT, |__wf_i| {
                    let #item = #element;
                    move || async move {
                        let __wf_args = #args;
                        #p::CallTool::call(__wf_args, __wf_state).await.map_err(#p::exec::tool_error(<#tool as #p::Tool>::NAME))
                    }
                }, |__wf_i| {
                    // What a journaled run records of call `__wf_i`.
                    let #item = #element;
                    let __wf_json = || -> #p::Result<#p::Value, #p::StepError> { #p::Ok(#p::Tool::arguments_json(&(#args))) };
                    #p::Result::ok(__wf_json())
                })
                .await;
                #all
            }
        }
    };
    let fb_bound = step.fallback.as_ref().map(|call| {
        let fb = call_alias(def, step, "fb", call);
        quote!(#fb: #p::CallTool<__WfState>,)
    });
    quote! {
        // The step's values are written in the DSL, where clippy's suggestions cannot apply.
        #[allow(non_snake_case, unreachable_code, unused_parens, clippy::all, clippy::pedantic)]
        async fn #fn_name<__WfState: ?::core::marker::Sized + ::core::marker::Sync>(
            __wf_state: &__WfState,
            __wf_inputs: &#name,
            __wf_record: &mut #p::StepRecord,
            #(#params,)*
            #(#statuses),*
        ) -> #p::Result<#out_ty, #p::StepError>
        where #tool: #p::CallTool<__WfState>, #fb_bound
        {
            #[allow(unused_imports)]
            use #p::access::Own as _;
            #idempotency
            #(#unwrap_skipped)*
            #condition
            #replay
            #call
            #fallback
            #settle
            #finish
        }
    }
}

/// The `StepSpec` literal of a step: ids and the policy the rule book resolved.
fn spec(step: &Step, tool: &Ident, policy: &StepPolicy) -> TokenStream {
    let p = private();
    let id = step.id.to_string();
    let r = policy.retry;
    let (retries, multiplier, jitter) = (r.retries, r.multiplier, r.jitter);
    let backoff = duration(r.backoff);
    let max = option(r.max_delay.map(duration));
    let timeout = option(policy.timeout.map(duration));
    let deadline = option(policy.deadline.map(duration));
    let retry_on = &policy.retry_on;
    quote! {
        #p::StepSpec {
            id: #p::Cow::Borrowed(#id),
            tool: #p::Cow::Borrowed(<#tool as #p::Tool>::NAME),
            retry: #p::RetryPolicy { retries: #retries, backoff: #backoff, multiplier: #multiplier, max_delay: #max, jitter: #jitter },
            timeout: #timeout,
            deadline: #deadline,
            retry_on: #p::Cow::Borrowed(&[#(#p::Cow::Borrowed(#retry_on)),*]),
        }
    }
}

fn duration(d: std::time::Duration) -> TokenStream {
    let p = private();
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    quote!(#p::Duration::from_micros(#micros))
}

fn option(value: Option<TokenStream>) -> TokenStream {
    let p = private();
    match value {
        Some(v) => quote!(#p::Some(#v)),
        None => quote!(#p::None),
    }
}

/// `name::template()`: the workflow printed as DSL text by the shared printer, read back at run
/// time by the same conversion as `WorkflowTemplate::from_dsl`, with each step's tool named as
/// the tool calls itself.
fn template(checked: &CheckedDef<'_>) -> TokenStream {
    let p = private();
    let def = &*checked.def;
    let name_of = |alias: Option<Ident>| match alias {
        Some(alias) => quote!(#p::Some(<#alias as #p::Tool>::NAME)),
        None => quote!(#p::None),
    };
    let tools = def.steps.iter().map(|s| {
        let tool = tool_alias(def, s);
        let fallback = name_of(s.fallback.as_ref().map(|c| call_alias(def, s, "fb", c)));
        let compensate = name_of(s.compensate.as_ref().map(|c| call_alias(def, s, "cp", c)));
        quote!((<#tool as #p::Tool>::NAME, #fallback, #compensate))
    });
    match workflow_core::print::workflow(&checked.checked.workflow) {
        Ok(text) => quote!(#p::dsl::compiled_template(#text, &[#(#tools),*])),
        Err(err) => {
            let message = err.to_string();
            quote!(::core::compile_error!(#message))
        }
    }
}

/// An argument's value: a whole reference is cloned; a string literal, with or without
/// references, converts to the parameter's type through `FromText` (`From<&str>` or
/// `From<String>`), which says "expected `u32`, found a string literal" when it cannot; anything
/// else is the user's expression with references in place.
fn arg_value(def: &WorkflowDef, value: &Value) -> TokenStream {
    match value.pieces.as_slice() {
        [Piece::Ref(r)] => {
            // `(place).wf_own()` (a clone) spans `<<` to `>>`, and a method call makes a type
            // mismatch read "expected `String`, found `u64`" at the reference.
            let mut place = Group::new(Delimiter::Parenthesis, place(def, r));
            place.set_span(r.open);
            let clone = quote_spanned!(r.close=> .wf_own());
            quote!(#place #clone)
        }
        [Piece::Str(lit, parts)] => {
            let (text, p) = (interpolate(def, lit, parts), private_at(lit.span()));
            quote_spanned!(lit.span()=> #p::access::FromText::from_text(#text))
        }
        [Piece::Token(TokenTree::Literal(lit))] if is_string(lit) => {
            let p = private_at(lit.span());
            quote_spanned!(lit.span()=> #p::access::FromText::from_text(#lit))
        }
        pieces => value_tokens(def, pieces),
    }
}

fn is_string(lit: &proc_macro2::Literal) -> bool {
    syn::parse2::<LitStr>(TokenTree::Literal(lit.clone()).into()).is_ok()
}

/// A Rust expression with each reference replaced by the place it names.
fn value_tokens(def: &WorkflowDef, pieces: &[Piece]) -> TokenStream {
    let mut out = TokenStream::new();
    for piece in pieces {
        match piece {
            Piece::Token(token) => out.extend([token.clone()]),
            Piece::Ref(r) => out.extend(place(def, r)),
            Piece::Str(lit, parts) => out.extend(interpolate(def, lit, parts)),
            Piece::Group(delimiter, span, inner) => {
                let mut group = Group::new(*delimiter, value_tokens(def, inner));
                group.set_span(*span);
                out.extend([TokenTree::Group(group)]);
            }
        }
    }
    out
}

/// A string literal with references: a `String` built from its text and each reference's JSON
/// text (strings without quotes), as the run-time template engine writes `{{x}}`. A value that is
/// not `Serialize` is reported at the literal, by `Interpolate`'s own message.
fn interpolate(def: &WorkflowDef, lit: &LitStr, parts: &[StrPart]) -> TokenStream {
    let p = private_at(lit.span());
    let text = format_ident!("__wf_text", span = Span::mixed_site());
    let capacity: usize =
        parts.iter().map(|part| if let StrPart::Text(t) = part { t.len() } else { 0 }).sum();
    let pushes = parts.iter().map(|part| match part {
        StrPart::Text(t) => {
            let t = LitStr::new(t, lit.span());
            quote_spanned!(lit.span()=> #text.push_str(#t);)
        }
        StrPart::Ref(r) => {
            let (place, path) = (place(def, r), LitStr::new(&ref_text(r), lit.span()));
            quote_spanned!(lit.span()=> #p::access::Interpolate::interpolate(&#place, &mut #text, #path)?;)
        }
    });
    quote_spanned! {lit.span()=> {
        let mut #text = #p::String::with_capacity(#capacity);
        #(#pushes)*
        #text
    }}
}

/// A reference as the user wrote it, without `<<` and `>>`: `list.issues[0].number`.
fn ref_text(r: &StepRef) -> String {
    let mut text = r.root.to_string();
    for segment in &r.path {
        match segment {
            Segment::Field(field) => text.push_str(&format!(".{}", field.unraw())),
            Segment::Status(status) => text.push_str(&format!(".${status}")),
            Segment::Index(index, _) => text.push_str(&format!("[{index}]")),
            Segment::Key(key, _) => text.push_str(&format!("[{key:?}]")),
        }
    }
    text
}

/// The place a reference names: `__wf_inputs.repo`, `(*__wf_o_step).field`, with `[i]` and
/// `["key"]` going through the runtime so that a miss fails the step instead of panicking.
fn place(def: &WorkflowDef, r: &StepRef) -> TokenStream {
    let is_input = def.inputs.iter().any(|i| i.ident == r.root);
    let is_item = def.steps.iter().any(|s| s.for_each.as_ref().is_some_and(|f| f.item == r.root));
    let root = &r.root;
    let mut place = if is_input {
        quote_spanned!(r.open=> __wf_inputs.#root)
    } else if is_item {
        let var = item_var(root);
        quote_spanned!(r.open=> (*#var))
    } else {
        let var = format_ident!("__wf_o_{}", root, span = root.span());
        quote_spanned!(r.open=> (*#var))
    };
    if let [Segment::Status(status)] = r.path.as_slice() {
        // How the step ended, passed to the step as `__wf_st_<step>`.
        let var = status_var(root);
        let test = status.to_string();
        if !workflow_core::ast::STATUS_TESTS.contains(&test.as_str()) {
            // Reported by the rule book; any value type-checks the rest.
            return quote_spanned!(status.span()=> false);
        }
        return quote_spanned!(status.span()=> #var.test(#test).unwrap_or(false));
    }
    let mut text = root.to_string();
    for segment in &r.path {
        match segment {
            Segment::Status(status) => {
                // Reported by the rule book: a status test stands alone after a step's id.
                return quote_spanned!(status.span()=> ::core::unreachable!("a status test reported above"));
            }
            Segment::Field(field) if is_input => {
                text.push('.');
                text.push_str(&field.to_string());
                place = quote_spanned!(field.span()=> #place.#field);
            }
            Segment::Field(field) => {
                // A typed output hands back itself, so `.field` is its Rust field, checked by the
                // compiler; a `serde_json::Value` is given to the closure, which looks the field
                // up when the step runs (`field_holders` declares the struct it returns).
                text.push('.');
                text.push_str(&field.to_string());
                let name = field.unraw().to_string();
                let holder = format_ident!("__WfField_{}", name);
                let (key, path, p) = (
                    LitStr::new(&name, field.span()),
                    LitStr::new(&text, field.span()),
                    private_at(field.span()),
                );
                place = quote_spanned!(field.span()=>
                    (*#p::access::Fields::wf_fields(&#place, |__wf_json| #p::Ok(#holder {
                        #field: #p::access::field(__wf_json, #key, #path)?,
                    }))?)
                    .#field
                );
            }
            Segment::Index(index, span) => {
                text.push_str(&format!("[{index}]"));
                let mut index = proc_macro2::Literal::i64_unsuffixed(*index);
                index.set_span(*span);
                let (path, p) = (LitStr::new(&text, *span), private_at(*span));
                place = quote_spanned!(*span=> (*#p::access::index(&#place, #index, #path)?));
            }
            Segment::Key(key, span) => {
                text.push_str(&format!("[{key:?}]"));
                let (key, path) = (LitStr::new(key, *span), LitStr::new(&text, *span));
                let p = private_at(*span);
                place = quote_spanned!(*span=> (*#p::access::key(&#place, #key, #path)?));
            }
        }
    }
    place
}

/// For each field name read from a step's output, the struct a `serde_json::Value` output hands
/// back for it (see `place`): one field of that name, holding the part of the JSON found there.
/// It dereferences to itself, so that `(*holder).field` reads like `(*output).field`.
fn field_holders(def: &WorkflowDef) -> TokenStream {
    let p = private();
    let inputs: BTreeSet<String> = def.inputs.iter().map(|i| i.ident.to_string()).collect();
    let mut names = BTreeMap::new();
    let refs = def.steps.iter().flat_map(|s| {
        let calls = [&s.fallback, &s.compensate].into_iter().flatten().flat_map(|c| &c.args);
        let args = s.args.iter().chain(calls).flat_map(|a| a.value.refs());
        let list = s.for_each.iter().map(|f| &f.list);
        args.chain(s.condition.iter().flat_map(|c| c.refs())).chain(list)
    });
    for r in refs.filter(|r| !inputs.contains(&r.root.to_string())) {
        for segment in &r.path {
            if let Segment::Field(field) = segment {
                names.entry(field.unraw().to_string()).or_insert_with(|| field.clone());
            }
        }
    }
    let holders = names.iter().map(|(name, field)| {
        let holder = format_ident!("__WfField_{}", name);
        quote! {
            #[allow(non_camel_case_types)]
            struct #holder<'__wf> { #field: #p::access::Json<'__wf> }
            impl<'__wf> ::core::ops::Deref for #holder<'__wf> {
                type Target = Self;
                fn deref(&self) -> &Self { self }
            }
        }
    });
    quote!(#(#holders)*)
}

/// The level-by-level body of `run`: one pending record per step in level order, then each
/// level's steps polled together, each filling its own record in place. The first failure that
/// stops the run cancels the steps of its level still running.
///
/// A workflow with no `after` and no `compensate` returns at that failure. One with either keeps
/// every output in an `Option` and goes on through the levels while it stops: each step asks
/// the trigger rule whether it runs, so the steps with `after` run, and at the end the
/// compensations of the steps that succeeded run, latest first.
fn run_body(def: &WorkflowDef, plan: &Plan, unresolved: &[BTreeSet<String>], plain: &[bool]) -> TokenStream {
    let p = private();
    let workflow_name = def.name.to_string();
    let order: Vec<usize> = plan.levels.iter().flatten().copied().collect();
    let mut position_of = vec![0usize; def.steps.len()];
    order.iter().enumerate().for_each(|(at, &i)| position_of[i] = at);
    let general = is_general(def);
    let planned = order.iter();
    let mut start = 0usize;
    let levels = plan.levels.iter().map(|level| {
        let first = start;
        start += level.len();
        run_level(def, plan, level, first, &position_of, general, (plain, unresolved))
    });
    let outputs = format_ident!("{}Outputs", camel_case(&workflow_name), span = def.name.span());
    let fields: Vec<TokenStream> = def
        .steps
        .iter()
        .map(|s| {
            let (id, var) = (&s.id, out_var(s));
            quote!(#id: #var)
        })
        .collect();
    // What the run returns: the outputs of the steps no other step needs. With a tokenizer, the
    // tokens of the others (kept in the workflow) and of these are counted before the run ends.
    let returned = def.steps.iter().zip(plan.returned()).filter(|(_, r)| *r).map(|(s, _)| s.id.to_string());
    let finish = quote! {
        let __wf_outputs = #outputs { #(#fields),* };
        if let #p::Some(__wf_tokenizer) = __wf_ctx.tokenizer() {
            __wf_rec.set_tokens(#p::exec::tokens_of(&__wf_outputs, &[#(#returned),*], __wf_tokenizer));
        }
        #p::Ok(#p::Run { outputs: __wf_outputs, record: __wf_rec.finish() })
    };
    let input_idents: Vec<&Ident> = def.inputs.iter().map(|i| &i.ident).collect();
    let input_strs: Vec<String> = input_idents.iter().map(ToString::to_string).collect();
    let head = quote! {
        let __wf_inputs = &self;
        let __wf_state = __wf_ctx.state();
        let mut __wf_stop = __wf_ctx.stop_signal();
        let mut __wf_rec =
            #p::RunRecorder::planned(#workflow_name, &[#(&Self::SPECS[#planned]),*]).observed_by(__wf_ctx.observers());
        if #p::exec::journaled::journaled() {
            #[allow(unused_imports)]
            use #p::exec::journaled::{ViaNothing as _, ViaSerialize as _};
            let mut __wf_inputs_json = #p::serde_json::Map::new();
            #(__wf_inputs_json.insert(<#p::String as ::core::convert::From<&str>>::from(#input_strs), (&&#p::exec::journaled::JsonOf(&__wf_inputs.#input_idents)).json());)*
            // The definition is the same for every run: made once.
            static __WF_DEFINITION: ::std::sync::OnceLock<#p::exec::journaled::Definition> = ::std::sync::OnceLock::new();
            let __wf_definition = || ::core::clone::Clone::clone(__WF_DEFINITION.get_or_init(|| #p::exec::journaled::Definition::of(&Self::template())));
            let __wf_opened = #p::exec::journaled::open(#workflow_name, __wf_definition, #p::Value::Object(__wf_inputs_json)).await;
            if let #p::Err(__wf_e) = __wf_opened {
                return #p::Err(__wf_rec.refuse(__wf_e));
            }
        }
    };
    if def.eager.is_some() && !general {
        let body = eager_body(def, plan, &order, &position_of, (plain, unresolved));
        return quote! {
            #head
            #body
            #finish
        };
    }
    if !general {
        return quote! {
            #head
            #(#levels)*
            #finish
        };
    }
    let declare = def.steps.iter().enumerate().map(|(i, s)| {
        let (var, ty) = (out_var(s), output_type(def, plan, i));
        quote!(let mut #var: #p::Option<#ty> = #p::None;)
    });
    let compensations = def.steps.iter().enumerate().filter(|(_, s)| s.compensate.is_some()).map(|(i, s)| {
        let position = position_of[i];
        let fn_name = format_ident!("__wf_comp_{}", s.id);
        let roots = compensation_roots(def, i, &unresolved[i]);
        let vars: Vec<Ident> = roots.iter().map(|&n| out_var(&def.steps[n])).collect();
        quote! {
            #position => {
                if let (#(#p::Some(#vars),)*) = (#(#vars.as_ref(),)*) {
                    let __wf_outcome = #fn_name(__wf_state, __wf_inputs, #(#vars),*).await;
                    __wf_rec.compensated(__wf_position, __wf_outcome);
                }
            }
        }
    });
    let unwrap = def.steps.iter().enumerate().filter(|&(i, _)| !plan.skippable[i]).map(|(i, s)| {
        let var = out_var(s);
        let position = position_of[i];
        quote! {
            let #p::Some(#var) = #var else {
                __wf_rec.stop_at(#position, #p::exec::never_ran());
                return #p::Err(__wf_rec.fail());
            };
        }
    });
    let flatten = def.steps.iter().enumerate().filter(|&(i, _)| plan.skippable[i]).map(|(_, s)| {
        let var = out_var(s);
        quote!(let #var = #var.flatten();)
    });
    let run = if def.eager.is_some() {
        eager_general(def, plan, &order, &position_of)
    } else {
        quote!(#(#declare)* #(#levels)*)
    };
    quote! {
        #head
        #run
        if __wf_rec.stopping().is_some() {
            for __wf_position in __wf_rec.compensation_order() {
                match __wf_position {
                    #(#compensations)*
                    _ => {}
                }
            }
            return #p::Err(__wf_rec.fail());
        }
        #(#unwrap)*
        #(#flatten)*
        #finish
    }
}

/// The eager body of `run` for a workflow with trigger rules, compensations or conditions on how
/// a step ended: every step polled in one loop, each started once every step it needs has
/// ended, however it ended, and then told by the trigger rule whether it runs. Each step's
/// status and output are kept in `OnceLock`s; a failure (or the run's stop signal) cancels the
/// steps running and leaves the rest to the trigger rules; the outputs end in the variables the
/// level body's tail reads (compensations, the outputs).
fn eager_general(def: &WorkflowDef, plan: &Plan, order: &[usize], position_of: &[usize]) -> TokenStream {
    let p = private();
    let n = order.len();
    let id = |i: usize| &def.steps[i].id;
    let slots: Vec<Ident> = order.iter().map(|&i| format_ident!("__wf_rs_{}", id(i))).collect();
    let owned: Vec<Ident> = (0..n).map(|i| format_ident!("__wf_co_{}", id(i))).collect();
    let cells: Vec<Ident> = (0..n).map(|i| format_ident!("__wf_c_{}", id(i))).collect();
    let owned_status: Vec<Ident> = (0..n).map(|i| format_ident!("__wf_so_{}", id(i))).collect();
    let status_cells: Vec<Ident> = (0..n).map(|i| format_ident!("__wf_s_{}", id(i))).collect();
    let futures: Vec<Ident> = (0..n).map(|i| format_ident!("__wf_f_{}", id(i))).collect();
    let names: Vec<String> = (0..n).map(|i| id(i).to_string()).collect();
    let declare = (0..n).map(|i| {
        let (cell, status, ty) = (&owned[i], &owned_status[i], output_type(def, plan, i));
        quote! {
            let #cell: ::std::sync::OnceLock<#ty> = ::std::sync::OnceLock::new();
            let #status: ::std::sync::OnceLock<#p::exec::Status> = ::std::sync::OnceLock::new();
        }
    });
    let cancelled = quote!(#p::exec::Status { ended: #p::exec::Ended::Cancelled, timed_out: false });
    let cancel_all = quote! {
        #(
            if #futures.as_mut().cancel() {
                let _ = #status_cells.set(#cancelled);
            }
        )*
    };
    let starts = order.iter().map(|&i| {
        let fn_name = format_ident!("__wf_step_{}", id(i));
        let (future, slot) = (&futures[i], format_ident!("__wf_rs_{}", id(i)));
        let passed = passed(plan, i);
        let args: Vec<Ident> = passed.iter().map(|&k| out_var(&def.steps[k])).collect();
        let arg_cells: Vec<&Ident> = passed.iter().map(|&k| &cells[k]).collect();
        let tested = status_roots(def, i);
        let status_vars: Vec<Ident> = tested.iter().map(|&k| status_var(id(k))).collect();
        let tested_cells: Vec<&Ident> = tested.iter().map(|&k| &status_cells[k]).collect();
        quote! {
            let mut #future = #p::pin!(#p::exec::Lazy::admitted(move |__wf_skip: #p::Option<#p::String>| async move {
                if let #p::Some(__wf_reason) = __wf_skip {
                    let _ = #p::exec::skip::<()>(#slot, &__wf_reason);
                    return (#p::exec::status_of(#slot), #p::Ok(#p::None));
                }
                #(
                    let #status_vars = #tested_cells.get().copied().unwrap_or(#p::exec::Status {
                        ended: #p::exec::Ended::Skipped,
                        timed_out: false,
                    });
                )*
                match (#(#arg_cells.get(),)*) {
                    (#(#p::Some(#args),)*) => {
                        let __wf_result = #fn_name(__wf_state, __wf_inputs, &mut *#slot, #(#args,)* #(#status_vars),*).await;
                        (#p::exec::status_of(#slot), __wf_result.map(#p::Some))
                    }
                    #[allow(unreachable_patterns)]
                    _ => (#p::exec::status_of(#slot), #p::Err(#p::exec::never_ran())),
                }
            }));
        }
    });
    let polls = order.iter().map(|&i| {
        let (future, cell, status, position, name) =
            (&futures[i], &cells[i], &status_cells[i], position_of[i], &names[i]);
        let reason = format!("the run is stopping after `{name}` failed");
        quote! {
            if #future.started() {
                let __wf_polled = #future.as_mut().poll_admitted(__wf_cx, || #p::None);
                match __wf_polled {
                    #p::Poll::Ready(#p::Some((__wf_status, __wf_result))) => {
                        let _ = #status.set(__wf_status);
                        __wf_progress = true;
                        match __wf_result {
                            #p::Ok(#p::Some(__wf_v)) => {
                                let _ = #cell.set(__wf_v);
                            }
                            #p::Ok(#p::None) => {}
                            #p::Err(__wf_e) => {
                                if __wf_stopping.is_none() {
                                    __wf_reason = #p::Some(<#p::String as ::core::convert::From<&str>>::from(#reason));
                                    __wf_stopping = #p::Some((#p::Some(#position), __wf_e));
                                    #cancel_all
                                }
                            }
                        }
                    }
                    #p::Poll::Ready(#p::None) => {}
                    #p::Poll::Pending => __wf_pending = true,
                }
            } else {
                __wf_pending = true;
            }
        }
    });
    // Every step whose needs have ended starts before any is polled, as a level's steps do:
    // a failure then cancels the steps started with it.
    let admissions = order.iter().map(|&i| {
        let future = &futures[i];
        let needs = &plan.needs[i];
        let any_end = &plan.any_end[i];
        let after = after_tokens(plan.after[i]);
        quote! {
            if !#future.started() && #p::exec::all_ended(&[#(#needs),*], &__wf_statuses) {
                let __wf_admit = #p::exec::admit_eager(&[#(#needs),*], #after, &[#(#any_end),*], &__wf_statuses, &[#(#names),*], __wf_reason.as_deref());
                #future.as_mut().start_admitted(__wf_admit);
            }
        }
    });
    let positions = order.iter().map(|&i| position_of[i]);
    let vars = (0..n).map(|i| out_var(&def.steps[i]));
    let owned_iter = owned.iter();
    let owned_status_iter = owned_status.iter();
    let cancel_positions = (0..n).map(|i| position_of[i]);
    quote! {
        #(#declare)*
        let __wf_failure = {
            let [#(#slots),*] = __wf_rec.level::<#n>(0);
            let (#(#cells,)*) = (#(&#owned,)*);
            let (#(#status_cells,)*) = (#(&#owned_status,)*);
            let __wf_statuses: [&::std::sync::OnceLock<#p::exec::Status>; #n] = [#(#status_cells),*];
            #(#starts)*
            let mut __wf_stopping: #p::Option<(#p::Option<usize>, #p::StepError)> = #p::None;
            let mut __wf_reason: #p::Option<#p::String> = #p::None;
            #p::poll_fn(|__wf_cx| loop {
                if __wf_stopping.is_none() {
                    if let #p::Some(__wf_e) = #p::exec::poll_stop(true, &mut __wf_stop, __wf_cx) {
                        __wf_reason = #p::Some(::std::format!("the run is stopping: {}", __wf_e));
                        __wf_stopping = #p::Some((#p::None, __wf_e));
                        #cancel_all
                    }
                }
                let (mut __wf_progress, mut __wf_pending) = (false, false);
                #(#admissions)*
                #(#polls)*
                if !__wf_progress {
                    return if __wf_pending { #p::Poll::Pending } else { #p::Poll::Ready(()) };
                }
            })
            .await;
            __wf_stopping
        };
        match __wf_failure {
            #p::Some((#p::Some(__wf_position), __wf_e)) => __wf_rec.stop_at(__wf_position, __wf_e),
            #p::Some((#p::None, __wf_e)) => __wf_rec.stop_run(__wf_e),
            #p::None => {}
        }
        // The steps the stop cancelled, polled yet or not, as a level's.
        #(
            if #owned_status_iter.get().is_some_and(|s| s.ended == #p::exec::Ended::Cancelled) {
                __wf_rec.cancel_level(#cancel_positions, 1);
            }
        )*
        #(__wf_rec.step_ended(#positions);)*
        #(let mut #vars = #owned_iter.into_inner();)*
    }
}

/// The eager body of `run`: every step polled in one loop, each started as soon as every step
/// it needs has given its output (kept in a `OnceLock`, which the steps after it borrow). The
/// first failure that stops the run cancels every step in flight.
fn eager_body(
    def: &WorkflowDef,
    plan: &Plan,
    order: &[usize],
    position_of: &[usize],
    (plain, unresolved): (&[bool], &[BTreeSet<String>]),
) -> TokenStream {
    let p = private();
    let n = order.len();
    let slots: Vec<Ident> = order.iter().map(|&i| format_ident!("__wf_rs_{}", def.steps[i].id)).collect();
    let owned: Vec<Ident> = def.steps.iter().map(|s| format_ident!("__wf_co_{}", s.id)).collect();
    let cells: Vec<Ident> = def.steps.iter().map(|s| format_ident!("__wf_c_{}", s.id)).collect();
    let futures: Vec<Ident> = def.steps.iter().map(|s| format_ident!("__wf_f_{}", s.id)).collect();
    let declare = def.steps.iter().enumerate().map(|(i, _)| {
        let (cell, ty) = (&owned[i], output_type(def, plan, i));
        quote!(let #cell: ::std::sync::OnceLock<#ty> = ::std::sync::OnceLock::new();)
    });
    let starts = order.iter().map(|&i| {
        let fn_name = format_ident!("__wf_step_{}", def.steps[i].id);
        let (future, slot) = (&futures[i], format_ident!("__wf_rs_{}", def.steps[i].id));
        let passed = passed(plan, i);
        let args: Vec<Ident> = passed.iter().map(|&n| out_var(&def.steps[n])).collect();
        let arg_cells: Vec<&Ident> = passed.iter().map(|&n| &cells[n]).collect();
        let call = if plain[i] {
            plain_call(def, i, &slot, &unresolved[i])
        } else {
            quote!(#fn_name(__wf_state, __wf_inputs, #slot, #(#args),*))
        };
        quote! {
            let mut #future = #p::pin!(#p::exec::Lazy::new(move || match (#(#arg_cells.get(),)*) {
                (#(#p::Some(#args),)*) => #p::Some(#call),
                #[allow(unreachable_patterns)]
                _ => #p::None,
            }));
        }
    });
    let polls = order.iter().map(|&i| {
        let (future, cell, position) = (&futures[i], &cells[i], position_of[i]);
        let needs = plan.needs[i].iter().map(|&n| &cells[n]);
        quote! {
            if #future.started() || (true #(&& #needs.get().is_some())*) {
                match #future.as_mut().poll_step(__wf_cx) {
                    #p::Poll::Ready(#p::Some(#p::Ok(__wf_v))) => {
                        let _ = #cell.set(__wf_v);
                        __wf_progress = true;
                    }
                    #p::Poll::Ready(#p::Some(#p::Err(__wf_e))) => return #p::Poll::Ready(#p::Some((#p::Some(#position), __wf_e))),
                    #p::Poll::Ready(#p::None) => {}
                    #p::Poll::Pending => __wf_pending = true,
                }
            } else {
                __wf_pending = true;
            }
        }
    });
    let settle = order.iter().map(|&i| {
        let (cell, position) = (&owned[i], position_of[i]);
        quote!(__wf_rec.settle(#position, #cell.into_inner().ok_or_else(#p::exec::never_ran))?)
    });
    let vars = order.iter().map(|&i| out_var(&def.steps[i]));
    quote! {
        #(#declare)*
        let __wf_failure = {
            let [#(#slots),*] = __wf_rec.level::<#n>(0);
            let (#(#cells,)*) = (#(&#owned,)*);
            #(#starts)*
            #p::poll_fn(|__wf_cx| loop {
                if let #p::Some(__wf_e) = #p::exec::poll_stop(true, &mut __wf_stop, __wf_cx) {
                    return #p::Poll::Ready(#p::Some((#p::None, __wf_e)));
                }
                let (mut __wf_progress, mut __wf_pending) = (false, false);
                #(#polls)*
                if !__wf_progress {
                    return if __wf_pending { #p::Poll::Pending } else { #p::Poll::Ready(#p::None) };
                }
            })
            .await
        };
        match __wf_failure {
            #p::Some((#p::Some(__wf_position), __wf_e)) => __wf_rec.stop_at(__wf_position, __wf_e),
            #p::Some((#p::None, __wf_e)) => __wf_rec.stop_run(__wf_e),
            #p::None => {}
        }
        if __wf_rec.stopping().is_some() {
            return #p::Err(__wf_rec.fail());
        }
        let (#(#vars,)*) = (|| -> #p::Result<_, #p::Box<#p::WorkflowError>> {
            #p::Ok((#(#settle,)*))
        })()?;
    }
}

/// One level of `run`: its steps polled together until all end or one stops the run, then
/// their outputs settled.
fn run_level(
    def: &WorkflowDef,
    plan: &Plan,
    level: &[usize],
    start: usize,
    position_of: &[usize],
    general: bool,
    (plain, unresolved): (&[bool], &[BTreeSet<String>]),
) -> TokenStream {
    let p = private();
    let slots: Vec<Ident> = level.iter().map(|&i| format_ident!("__wf_rs_{}", def.steps[i].id)).collect();
    let results: Vec<Ident> = level.iter().map(|&i| format_ident!("__wf_r_{}", def.steps[i].id)).collect();
    let futures: Vec<Ident> = level.iter().map(|&i| format_ident!("__wf_f_{}", def.steps[i].id)).collect();
    let vars: Vec<Ident> = level.iter().map(|&i| out_var(&def.steps[i])).collect();
    let gates: Vec<Ident> = level.iter().map(|&i| format_ident!("__wf_go_{}", def.steps[i].id)).collect();
    let calls: Vec<TokenStream> = level
        .iter()
        .zip(&slots)
        .zip(&gates)
        .map(|((&i, slot), gate)| {
            let fn_name = format_ident!("__wf_step_{}", def.steps[i].id);
            let args: Vec<Ident> = passed(plan, i).into_iter().map(|n| out_var(&def.steps[n])).collect();
            let statuses: Vec<Ident> =
                status_roots(def, i).into_iter().map(|n| status_var(&def.steps[n].id)).collect();
            if !general && plain[i] {
                let call = plain_call(def, i, slot, &unresolved[i]);
                return quote! {{
                    #(let #args = &#args;)*
                    #call
                }};
            }
            if !general {
                return quote!(#p::maybe_done(#fn_name(__wf_state, __wf_inputs, #slot, #(&#args,)* #(#statuses),*)));
            }
            // Each output the step reads is there if the trigger rule lets it run.
            quote! {
                #p::maybe_done(async {
                    match (#gate, #(#args.as_ref(),)*) {
                        (true, #(#p::Some(#args),)*) => #fn_name(__wf_state, __wf_inputs, #slot, #(#args,)* #(#statuses),*).await.map(#p::Some),
                        _ => #p::Ok(#p::None),
                    }
                })
            }
        })
        .collect();
    let admit = level.iter().zip(&gates).filter(|_| general).map(|(&i, gate)| {
        let position = position_of[i];
        let needs = plan.needs[i].iter().map(|&n| position_of[n]);
        let after = after_tokens(plan.after[i].map(|(x, trigger)| (position_of[x], trigger)));
        let any_end = plan.any_end[i].iter().map(|&n| position_of[n]);
        quote!(let #gate = __wf_rec.admit(#position, &[#(#needs),*], #after, &[#(#any_end),*]);)
    });
    // How the steps whose status the level's conditions test ended, read before the level.
    let tested: BTreeSet<usize> = level.iter().flat_map(|&i| status_roots(def, i)).collect();
    let statuses = tested.into_iter().map(|n| {
        let (var, position) = (status_var(&def.steps[n].id), position_of[n]);
        quote!(let #var = __wf_rec.status(#position);)
    });
    let width = level.len();
    let polls = futures.iter().map(|f| {
        quote! {
            if #p::exec::poll_step(#f.as_mut(), __wf_cx, &mut __wf_pending) {
                return #p::Poll::Ready(#p::None);
            }
        }
    });
    let armed = if general { quote!(__wf_rec.stopping().is_none()) } else { quote!(true) };
    // In a block of its own, so that the level's futures take a place in the state of `run`'s
    // body only while the level runs. The run's stop signal (its deadline, its cancellation) is
    // polled with them.
    let run_level = quote! {
        let __wf_armed = #armed;
        let (__wf_stopped, #(mut #results),*) = {
            let [#(#slots),*] = __wf_rec.level::<#width>(#start);
            #(let mut #futures = #p::pin!(#calls);)*
            let __wf_stopped = #p::poll_fn(|__wf_cx| {
                if let #p::Some(__wf_e) = #p::exec::poll_stop(__wf_armed, &mut __wf_stop, __wf_cx) {
                    return #p::Poll::Ready(#p::Some(__wf_e));
                }
                let mut __wf_pending = false;
                #(#polls)*
                if __wf_pending { #p::Poll::Pending } else { #p::Poll::Ready(#p::None) }
            })
            .await;
            (__wf_stopped, #(#futures.as_mut().take_output()),*)
        };
        if let #p::Some(__wf_e) = __wf_stopped {
            __wf_rec.stop_run(__wf_e);
            __wf_rec.cancel_level(#start, #width);
        }
    };
    let positions: Vec<usize> = (start..start + level.len()).collect();
    let ks = 0..level.len();
    let failures = quote! {
        #(
            if let #p::Some(__wf_e) = #p::exec::TakeFailure::take_failure(&mut #results) {
                __wf_rec.stop_in_level(#start, #width, #ks, __wf_e);
            }
        )*
    };
    let settle = if general {
        quote! {
            #failures
            #(#vars = __wf_rec.settle_soft(#positions, #results).flatten();)*
        }
    } else {
        // The level's results are settled in one closure: a plain body of its own, which keeps
        // the async body (whose layout rustc computes over every local) small.
        quote! {
            #failures
            if __wf_rec.stopping().is_some() {
                return #p::Err(__wf_rec.fail());
            }
            (|| -> #p::Result<_, #p::Box<#p::WorkflowError>> {
                #p::Ok((#(__wf_rec.settle_slot(#positions, #results)?,)*))
            })()?
        }
    };
    // The level's results live in a block of their own: a local of `run`'s body would keep its
    // place in the body's state until the end of the run, one place per level.
    if general {
        quote! {
            {
                #(#admit)*
                #(#statuses)*
                #run_level
                #p::exec::tick();
                #settle
            }
        }
    } else {
        quote! {
            let (#(#vars,)*) = {
                #run_level
                #p::exec::tick();
                #settle
            };
        }
    }
}

/// The struct literal of a call's arguments, `Alias { arg: value, … }`: a step's, its
/// fallback's or its compensation's.
///
/// A value that reads a name already reported unknown is left out: this code is emitted only
/// beside that `compile_error!`, so it never runs, and `unreachable!()` takes any type, so the
/// rest of the call is still type-checked and that name gets no second error. The literal is
/// spanned at the tool's name, a token of the user's: rustc suggests a field ("a field with a
/// similar name exists") only from the same syntax context as the literal, and reports a missing
/// one at the literal's path.
fn call_literal(
    def: &WorkflowDef,
    alias: &Ident,
    tool: &syn::Path,
    args: &[super::ast::Arg],
    unresolved: &BTreeSet<String>,
) -> TokenStream {
    let args = args.iter().map(|arg| {
        let value = if arg.value.refs().iter().all(|r| !unresolved.contains(&r.root.to_string())) {
            arg_value(def, &arg.value)
        } else {
            let span = arg.value.span.0;
            quote_spanned!(span=> ::core::unreachable!("a reference reported above"))
        };
        let arg_name = &arg.name;
        quote!(#arg_name: #value)
    });
    quote_spanned!(tool_span(tool)=> #alias { #(#args),* })
}

/// `after X failed | always` as the recorder's trigger rule takes it, `X` numbered as the caller
/// numbers steps.
fn after_tokens(after: Option<(usize, workflow_core::model::Trigger)>) -> TokenStream {
    let p = private();
    match after {
        Some((x, workflow_core::model::Trigger::Failed)) => quote!(#p::Some((#x, #p::exec::Trigger::Failed))),
        Some((x, workflow_core::model::Trigger::Always)) => quote!(#p::Some((#x, #p::exec::Trigger::Always))),
        None => quote!(#p::None),
    }
}

/// The steps whose outputs step `i`'s compensation reads (its own among them), ascending.
fn compensation_roots(def: &WorkflowDef, i: usize, unresolved: &BTreeSet<String>) -> Vec<usize> {
    let Some(call) = &def.steps[i].compensate else { return Vec::new() };
    let mut roots = BTreeSet::new();
    for r in call.args.iter().flat_map(|a| a.value.refs()) {
        let name = r.root.to_string();
        if unresolved.contains(&name) {
            continue;
        }
        if let Some(n) = def.steps.iter().position(|s| s.id == r.root) {
            roots.insert(n);
        }
    }
    roots.into_iter().collect()
}

/// `async fn __wf_comp_<id>`: step `i`'s compensation, called with the outputs it reads.
fn compensation_fn(def: &WorkflowDef, plan: &Plan, unresolved: &BTreeSet<String>, i: usize) -> TokenStream {
    let p = private();
    let step = &def.steps[i];
    let Some(call) = &step.compensate else { return TokenStream::new() };
    let name = &def.name;
    let cp = call_alias(def, step, "cp", call);
    let fn_name = format_ident!("__wf_comp_{}", step.id);
    let roots = compensation_roots(def, i, unresolved);
    let params = roots.iter().map(|&n| {
        let (var, ty) = (out_var(&def.steps[n]), output_type(def, plan, n));
        quote!(#var: &#ty)
    });
    let unwrap_skipped = roots.iter().filter(|&&n| plan.skippable[n]).map(|&n| {
        let var = out_var(&def.steps[n]);
        let reason = format!("`{}` has no output", def.steps[n].id);
        quote! {
            let #p::Some(#var) = #var else {
                let __wf_error = #p::StepError::Template { parameter: <#p::String as ::core::convert::From<&str>>::from("compensate"), reason: <#p::String as ::core::convert::From<&str>>::from(#reason) };
                return #p::exec::failed(&__WF_SPEC, __wf_error);
            };
        }
    });
    let args = call_literal(def, &cp, &call.tool, &call.args, unresolved);
    let id = step.id.to_string();
    let position = proc_macro2::Literal::usize_unsuffixed(i);
    quote! {
        #[allow(non_snake_case, unreachable_code, unused_parens, clippy::all, clippy::pedantic)]
        async fn #fn_name<__WfState: ?::core::marker::Sized + ::core::marker::Sync>(
            __wf_state: &__WfState,
            __wf_inputs: &#name,
            #(#params),*
        ) -> #p::StepOutcome<()>
        where #cp: #p::CallTool<__WfState>
        {
            #[allow(unused_imports)]
            use #p::access::Own as _;
            const __WF_SPEC: #p::StepSpec = #p::StepSpec {
                id: #p::Cow::Borrowed(#id),
                tool: #p::Cow::Borrowed(<#cp as #p::Tool>::NAME),
                retry: #p::exec::COMPENSATION_RETRY,
                timeout: #name::SPECS[#position].timeout,
                deadline: #p::None,
                retry_on: #p::Cow::Borrowed(&[]),
            };
            #(#unwrap_skipped)*
            let (__wf_record, __wf_result) = #p::exec::drive_owned(&__WF_SPEC, move || async move {
                let __wf_args = #args;
                #p::CallTool::call(__wf_args, __wf_state).await.map_err(#p::exec::tool_error(<#cp as #p::Tool>::NAME))
            })
            .await;
            (__wf_record, __wf_result.map(|_| ()))
        }
    }
}

/// `github_pr` → `GithubPr`.
fn camel_case(name: &str) -> String {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}
