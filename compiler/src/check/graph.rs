//! Whole-design checks on the call graph: synchronous cycles and unreachable services.

use super::Checker;
use crate::diagnostics::{Diagnostic, codes};
use crate::model::graph::CallGraph;
use crate::model::*;
use crate::syntax::ast;
use petgraph::algo::tarjan_scc;
use petgraph::graph::NodeIndex;
use petgraph::visit::{Dfs, EdgeFiltered, EdgeRef};
use std::collections::BTreeSet;

impl Checker<'_> {
    pub(super) fn graph_checks(&mut self, model: &Model, system: &ast::System, reachability: bool) {
        let g = CallGraph::new(model);
        self.cycles(&g);
        if reachability {
            self.reachability(&g, model, system);
        }
    }

    /// Each strongly connected component of synchronous calls is one cycle error.
    fn cycles(&mut self, g: &CallGraph) {
        let sync = EdgeFiltered::from_fn(&g.graph, |e| e.weight().synchronous);
        let mut sccs = tarjan_scc(&sync);
        for scc in &mut sccs {
            scc.sort();
        }
        sccs.sort();
        for scc in sccs {
            let start = scc[0];
            let self_loop = g
                .graph
                .edges(start)
                .any(|e| e.target() == start && e.weight().synchronous);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
            let path = cycle_path(g, start, &members);
            let names: Vec<String> = path
                .iter()
                .map(|(n, _)| {
                    let (s, e) = &g.graph[*n];
                    format!("`{s}.{e}`")
                })
                .chain(std::iter::once({
                    let (s, e) = &g.graph[start];
                    format!("`{s}.{e}`")
                }))
                .collect();
            let sites: Vec<_> = path
                .iter()
                .map(|(n, call)| {
                    let (s, e) = g.graph[*n];
                    let key = (s.to_string(), e.to_string());
                    self.spans.calls[&key][*call]
                })
                .collect();
            let mut d = Diagnostic::new(
                codes::CALL_CYCLE,
                format!("synchronous call cycle: {}", names.join(" → ")),
            )
            .at(sites[sites.len() - 1].span, "this call closes the cycle");
            for s in &sites[..sites.len() - 1] {
                d = d.with(s.span, "part of the cycle");
            }
            self.report(d.help("a request could end up waiting on itself; make one call `async`, or route it through a `kind queue` service"));
        }
    }

    /// Services with endpoints that no workload reaches, through any call.
    fn reachability(&mut self, g: &CallGraph, model: &Model, system: &ast::System) {
        if self.declared_workloads.is_empty() {
            if model.services.iter().any(|s| !s.endpoints.is_empty()) {
                self.report(
                    Diagnostic::new(codes::NO_WORKLOADS, format!("system `{}` has no workloads", system.name.name))
                        .at(system.name.span, "nothing arrives")
                        .help("add a `workload NAME { entry SERVICE.ENDPOINT  rate N rps }` so kendall can predict and plan"),
                );
            }
            return;
        }
        let mut reached: BTreeSet<&str> = BTreeSet::new();
        for w in &model.workloads {
            reached.insert(&w.entry.service);
            let Some(ep) = &w.entry.endpoint else {
                continue;
            };
            let Some(start) = g.node(&w.entry.service, ep) else {
                continue;
            };
            let mut dfs = Dfs::new(&g.graph, start);
            while let Some(n) = dfs.next(&g.graph) {
                reached.insert(g.graph[n].0);
            }
        }
        for s in &model.services {
            if s.endpoints.is_empty() || reached.contains(s.name.as_str()) {
                continue;
            }
            let span = s.span;
            self.report(
                Diagnostic::new(
                    codes::UNREACHABLE_SERVICE,
                    format!("no workload reaches service `{}`", s.name),
                )
                .at(span, "never called")
                .help(format!(
                    "call it from another service, add a workload with `entry {}`, or remove it",
                    s.name
                )),
            );
        }
    }
}

/// A cycle through `start` within one component: `(caller node, call index)` for each hop.
fn cycle_path(
    g: &CallGraph,
    start: NodeIndex,
    members: &BTreeSet<NodeIndex>,
) -> Vec<(NodeIndex, usize)> {
    // Depth-first search for a path back to `start`, taking edges in call order.
    let mut stack: Vec<(NodeIndex, Vec<(usize, NodeIndex)>)> = Vec::new();
    let mut path: Vec<(NodeIndex, usize)> = Vec::new();
    let mut visited = BTreeSet::new();
    let out = |n: NodeIndex| {
        let mut edges: Vec<(usize, NodeIndex)> = g
            .graph
            .edges(n)
            .filter(|e| e.weight().synchronous && members.contains(&e.target()))
            .map(|e| (e.weight().call, e.target()))
            .collect();
        edges.sort();
        edges.reverse();
        edges
    };
    stack.push((start, out(start)));
    visited.insert(start);
    while let Some((node, edges)) = stack.last_mut() {
        let node = *node;
        match edges.pop() {
            Some((call, next)) => {
                if next == start {
                    path.push((node, call));
                    return path;
                }
                if visited.insert(next) {
                    path.push((node, call));
                    stack.push((next, out(next)));
                }
            }
            None => {
                stack.pop();
                path.pop();
            }
        }
    }
    path
}
