//! The call graph: one node per endpoint, one edge per call site.

use super::{Model, Step};
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxHashMap as HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Index of the call among the caller endpoint's calls, in source order (depth first).
    pub call: usize,
    /// Whether the caller waits for the callee.
    pub synchronous: bool,
}

/// Endpoints as `(service, endpoint)` nodes, calls as edges. Node indices follow the order of
/// services and endpoints in the model, so traversals are deterministic.
pub struct CallGraph<'m> {
    pub graph: DiGraph<(&'m str, &'m str), Edge>,
    nodes: HashMap<(&'m str, &'m str), NodeIndex>,
}

impl<'m> CallGraph<'m> {
    pub fn new(model: &'m Model) -> CallGraph<'m> {
        let mut graph = DiGraph::new();
        let mut nodes = HashMap::default();
        for s in &model.services {
            for e in &s.endpoints {
                let key = (s.name.as_str(), e.name.as_str());
                nodes.insert(key, graph.add_node(key));
            }
        }
        for s in &model.services {
            for e in &s.endpoints {
                let from = nodes[&(s.name.as_str(), e.name.as_str())];
                let mut index = 0;
                each_call(&e.steps, &mut |c| {
                    if let Some(&to) = nodes.get(&(c.service.as_str(), c.endpoint.as_str())) {
                        let synchronous = !c.is_async;
                        graph.add_edge(
                            from,
                            to,
                            Edge {
                                call: index,
                                synchronous,
                            },
                        );
                    }
                    index += 1;
                });
            }
        }
        CallGraph { graph, nodes }
    }

    pub fn node(&self, service: &str, endpoint: &str) -> Option<NodeIndex> {
        self.nodes.get(&(service, endpoint)).copied()
    }
}

/// Visits every call of a step list, depth first in source order.
pub fn each_call<'a>(steps: &'a [Step], f: &mut impl FnMut(&'a super::Call)) {
    for s in steps {
        match s {
            Step::Call(c) => f(c),
            Step::Parallel { steps } => each_call(steps, f),
        }
    }
}
