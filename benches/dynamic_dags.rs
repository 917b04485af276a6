//! Run-time DAGs of no-op tools: `WorkflowExecutor` against dagrs 0.9 and a hand-written floor.
//!
//! Shapes: a chain of 10,000 steps; a fan 1 → N → 1 for N = 1,000 and 10,000; 100 levels of 100
//! steps, each with 1–3 parents drawn from the level before (fixed seed). Each shape runs on
//! the same tokio current-thread runtime in three ways:
//!
//! - `workflow`: a `WorkflowTemplate` with one `noop` step per node (`depends_on` its parents),
//!   run by `WorkflowExecutor::execute` against a `ToolRegistry`. Timed: validation, planning,
//!   every step through the registry, records and context; `workflow` uses the default
//!   level-by-level schedule, `workflow_eager` the eager one. `workflow_validate_only` times the
//!   validation and planning part alone, to split the cost; `workflow_prepared` validates once
//!   (`WorkflowExecutor::prepare`, untimed, as dagrs's graph building is) and times the run.
//! - `dagrs`: a `Graph` of `DefaultNode`s whose action waits for a message from every parent,
//!   then sends one to every child (dagrs orders nodes only through these channels). Timed:
//!   `Graph::async_start`; building the graph and dropping it are not.
//! - `floor`: Kahn's algorithm over the parent lists, level by level, awaiting the `noop`
//!   function of every step of a level with `join_all`; no records, no JSON.
//!
//! Divide a time by the number of steps for the cost per step. See `BENCHMARKS.md`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, Throughput, black_box, criterion_group, criterion_main,
};
use dagrs::async_trait::async_trait;
use dagrs::{Action, Content, DefaultNode, EnvVar, Graph, InChannels, Node, NodeTable, OutChannels, Output};
use futures::future::join_all;
use tokio::runtime::Runtime;
use workflow::prelude::*;
use workflow::validate::validate;
use workflow::{Schedule, WorkflowExecutor, WorkflowStep, WorkflowTemplate};

/// Do nothing.
#[tool]
async fn noop() -> Result<(), ToolError> {
    Ok(())
}

/// A DAG as parent lists; every parent comes before its children.
struct Dag {
    name: String,
    parents: Vec<Vec<usize>>,
}

impl Dag {
    fn chain(n: usize) -> Self {
        let parents = (0..n).map(|i| if i == 0 { Vec::new() } else { vec![i - 1] }).collect();
        Self { name: format!("chain_{n}"), parents }
    }

    /// One source, `width` steps that need it, one sink that needs them all.
    fn fan(width: usize) -> Self {
        let mut parents = vec![Vec::new()];
        parents.extend((0..width).map(|_| vec![0]));
        parents.push((1..=width).collect());
        Self { name: format!("fan_{width}"), parents }
    }

    /// `levels` levels of `width` steps; each step after the first level has 1–3 distinct
    /// parents in the level before.
    fn layered(levels: usize, width: usize, seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let mut parents = vec![Vec::new(); width];
        for level in 1..levels {
            let previous = (level - 1) * width;
            for _ in 0..width {
                let count = 1 + rng.below(3);
                let mut mine: Vec<usize> = Vec::with_capacity(count);
                while mine.len() < count {
                    let p = previous + rng.below(width);
                    if !mine.contains(&p) {
                        mine.push(p);
                    }
                }
                mine.sort_unstable();
                parents.push(mine);
            }
        }
        Self { name: format!("layered_{levels}x{width}"), parents }
    }

    fn len(&self) -> usize {
        self.parents.len()
    }

    fn edges(&self) -> usize {
        self.parents.iter().map(Vec::len).sum()
    }

    fn workflow(&self) -> WorkflowTemplate {
        let steps = self
            .parents
            .iter()
            .enumerate()
            .map(|(i, parents)| {
                let mut step = WorkflowStep::new(format!("s{i}"), "noop");
                step.depends_on = parents.iter().map(|p| format!("s{p}")).collect();
                step
            })
            .collect();
        WorkflowTemplate {
            name: self.name.clone(),
            description: String::new(),
            inputs: Vec::new(),
            steps,
            metadata: Default::default(),
            parallel_groups: None,
        }
    }

    fn dagrs(&self) -> Graph {
        let mut table = NodeTable::new();
        let mut graph = Graph::new();
        let ids: Vec<_> = (0..self.len())
            .map(|i| {
                let node = DefaultNode::with_action(format!("s{i}"), Relay, &mut table);
                let id = node.id();
                graph.add_node(node).expect("a new node");
                id
            })
            .collect();
        let mut children = vec![Vec::new(); self.len()];
        for (i, parents) in self.parents.iter().enumerate() {
            for &p in parents {
                children[p].push(ids[i]);
            }
        }
        for (p, children) in children.into_iter().enumerate().filter(|(_, c)| !c.is_empty()) {
            graph.add_edge(ids[p], children).expect("nodes of this graph");
        }
        graph.set_env(EnvVar::new(table));
        graph
    }
}

/// The floor: Kahn's algorithm level by level, calling `noop` for every step.
async fn floor(dag: &Dag) -> usize {
    let n = dag.len();
    let mut waiting: Vec<usize> = dag.parents.iter().map(Vec::len).collect();
    let mut children = vec![Vec::new(); n];
    for (i, parents) in dag.parents.iter().enumerate() {
        for &p in parents {
            children[p].push(i);
        }
    }
    let mut level: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut ran = 0;
    while !level.is_empty() {
        for result in join_all(level.iter().map(|_| noop())).await {
            result.expect("noop succeeds");
        }
        ran += level.len();
        let mut next = Vec::new();
        for &i in &level {
            for &c in &children[i] {
                waiting[c] -= 1;
                if waiting[c] == 0 {
                    next.push(c);
                }
            }
        }
        level = next;
    }
    ran
}

/// A no-op dagrs action that keeps the DAG's order: it waits for every parent's message, then
/// sends one to every child, as dagrs's own examples do.
struct Relay;

#[async_trait]
impl Action for Relay {
    async fn run(&self, inputs: &mut InChannels, outputs: &mut OutChannels, _: Arc<EnvVar>) -> Output {
        inputs.map(|_| ()).await;
        outputs.broadcast(Content::new(())).await;
        Output::empty()
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime")
}

fn bench_dag(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, rt: &Runtime, dag: &Dag) {
    let template = dag.workflow();
    let mut registry = ToolRegistry::new(());
    registry.register::<noop>().expect("one tool");
    let executor = WorkflowExecutor::new();

    // Every variant runs every step once.
    let run = rt.block_on(executor.execute(&template, &registry, serde_json::json!({}))).expect("runs");
    assert_eq!(run.record.steps.len(), dag.len());
    assert!(run.record.succeeded());
    assert_eq!(rt.block_on(floor(dag)), dag.len());
    let report = rt.block_on(dag.dagrs().async_start()).expect("dagrs runs the graph");
    assert_eq!(report.node_succeeded, dag.len(), "{report:?}");

    group.throughput(Throughput::Elements(dag.len() as u64));
    group.bench_function("floor", |b| b.iter(|| rt.block_on(floor(black_box(dag)))));
    group.bench_function("workflow", |b| {
        b.iter(|| rt.block_on(executor.execute(black_box(&template), &registry, serde_json::json!({}))))
    });
    let eager = WorkflowExecutor::new().with_schedule(Schedule::Eager);
    let run = rt.block_on(eager.execute(&template, &registry, serde_json::json!({}))).expect("runs");
    assert_eq!(run.record.steps.len(), dag.len());
    group.bench_function("workflow_eager", |b| {
        b.iter(|| rt.block_on(eager.execute(black_box(&template), &registry, serde_json::json!({}))))
    });
    // Validated once (as dagrs's graph is built once, untimed), run every iteration.
    let prepared = executor.prepare(&template, &registry).expect("valid");
    group.bench_function("workflow_prepared", |b| {
        b.iter(|| rt.block_on(prepared.run(&registry, serde_json::json!({}))))
    });
    // Diagnostic: the share of `workflow` spent checking and planning the template.
    group.bench_function("workflow_validate_only", |b| {
        b.iter(|| validate(black_box(&template), &registry).map(|plan| plan.levels().len()))
    });
    group.bench_function("dagrs", |b| {
        b.iter_batched(
            || dag.dagrs(),
            |mut graph| {
                let report = rt.block_on(graph.async_start());
                (graph, report)
            },
            BatchSize::PerIteration,
        )
    });
}

fn dynamic_dags(c: &mut Criterion) {
    let rt = runtime();
    let dags = [Dag::chain(10_000), Dag::fan(1_000), Dag::fan(10_000), Dag::layered(100, 100, 0x5eed)];
    for dag in &dags {
        let mut group = c.benchmark_group(&dag.name);
        group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
        eprintln!("{}: {} steps, {} edges", dag.name, dag.len(), dag.edges());
        bench_dag(&mut group, &rt, dag);
        group.finish();
    }
}

criterion_group!(benches, dynamic_dags);
criterion_main!(benches);

/// SplitMix64: a fixed, seeded sequence without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
