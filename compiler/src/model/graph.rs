//! The call graph: one node per endpoint, one edge per call site.

use super::{Model, Step};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Index of the call among the caller endpoint's calls, in source order (depth first).
    pub call: usize,
    /// Whether the caller waits for the callee.
    pub synchronous: bool,
}

/// Endpoints as `(service, endpoint)` nodes, calls as edges.
pub struct CallGraph {
    pub graph: DiGraph<(String, String), Edge>,
    pub nodes: BTreeMap<(String, String), NodeIndex>,
}

impl CallGraph {
    pub fn new(model: &Model) -> CallGraph {
        let mut graph = DiGraph::new();
        let mut nodes = BTreeMap::new();
        for s in &model.services {
            for e in &s.endpoints {
                let key = (s.name.clone(), e.name.clone());
                nodes.insert(key.clone(), graph.add_node(key));
            }
        }
        for s in &model.services {
            // A queue's calls are deliveries to consumers: the producer never waits for them.
            let broker = s.kind == super::ServiceKind::Queue;
            for e in &s.endpoints {
                let from = nodes[&(s.name.clone(), e.name.clone())];
                let mut index = 0;
                each_call(&e.steps, &mut |c| {
                    if let Some(&to) = nodes.get(&(c.service.clone(), c.endpoint.clone())) {
                        graph.add_edge(
                            from,
                            to,
                            Edge {
                                call: index,
                                synchronous: !c.is_async && !broker,
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
        self.nodes
            .get(&(service.to_string(), endpoint.to_string()))
            .copied()
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
