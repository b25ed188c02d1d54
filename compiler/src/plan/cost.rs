//! What a design costs to run, per hour, from its `pricing` and its services' `cost`.

use crate::model::{Model, Pricing, Service};
use std::collections::BTreeMap;

/// Bytes in a GiB: memory is priced per GiB-hour.
const GIB: f64 = (1u64 << 30) as f64;

/// Why a cost per hour cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CostError {
    /// A service uses a resource the design's `pricing` has no price for, and has no `cost`.
    Unpriced {
        service: String,
        /// `cpu`, `memory` or `gpu TYPE`.
        resource: String,
    },
}

impl std::fmt::Display for CostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CostError::Unpriced { service, resource } => write!(
                f,
                "service `{service}` uses {resource}, which `pricing` gives no price for: add `{resource} $X/h` to `pricing` or give the service a `cost`"
            ),
        }
    }
}

impl std::error::Error for CostError {}

/// The cost of one replica of `service` per hour, in dollars.
///
/// * A service's own `cost` wins: it is the price of one replica, whatever its resources.
/// * Otherwise cpu × the price per vCPU-hour + memory in GiB × the price per GiB-hour + GPUs
///   × the price per GPU-hour of their type. A resource the service does not declare costs
///   nothing; one it declares without a price in `pricing` is a [`CostError`].
/// * An external service without `cost` costs nothing (it is not deployed).
pub fn replica_cost_per_hour(service: &Service, pricing: &Pricing) -> Result<f64, CostError> {
    if let Some(cost) = service.cost_per_hour {
        return Ok(cost);
    }
    if !service.kind.is_deployed() {
        return Ok(0.0);
    }
    let unpriced = |resource: String| CostError::Unpriced {
        service: service.name.clone(),
        resource,
    };
    let mut total = 0.0;
    if let Some(cores) = service.cpu_cores {
        let price = pricing
            .cpu_per_core_hour
            .ok_or_else(|| unpriced("cpu".into()))?;
        total += cores * price;
    }
    if let Some(bytes) = service.memory_bytes {
        let price = pricing
            .memory_per_gib_hour
            .ok_or_else(|| unpriced("memory".into()))?;
        total += bytes as f64 / GIB * price;
    }
    if let Some(gpu) = &service.gpu {
        let price = pricing
            .gpu_per_hour
            .get(&gpu.kind)
            .ok_or_else(|| unpriced(format!("gpu {}", gpu.kind)))?;
        total += f64::from(gpu.count) * price;
    }
    Ok(total)
}

/// The replicas (per shard) each deployed service runs with by the rule of `kendall predict`:
/// the override in `overrides`, else the design's pin or the lower bound of its range, and at
/// least 1. External services have none and are left out.
pub fn design_replicas(model: &Model, overrides: &BTreeMap<String, u32>) -> BTreeMap<String, u32> {
    model
        .services
        .iter()
        .filter_map(|s| {
            let r = s.replicas?;
            let n = overrides.get(&s.name).copied().unwrap_or(r.min).max(1);
            Some((s.name.clone(), n))
        })
        .collect()
}

/// The cost of running `model` per hour, in dollars: for every deployed service, replicas ×
/// shards × [`replica_cost_per_hour`], with replicas from `replicas` (per shard; a service
/// missing there runs at its pin or lower bound, as [`design_replicas`]); plus each external
/// service's `cost`, once (it has no replicas). Job services count as if they ran all the
/// time.
pub fn cost_per_hour(model: &Model, replicas: &BTreeMap<String, u32>) -> Result<f64, CostError> {
    let mut total = 0.0;
    for s in &model.services {
        let each = replica_cost_per_hour(s, &model.pricing)?;
        let copies = match s.replicas {
            Some(r) => {
                let n = replicas.get(&s.name).copied().unwrap_or(r.min).max(1);
                f64::from(n) * f64::from(s.shards)
            }
            None => 1.0,
        };
        total += copies * each;
    }
    Ok(total)
}
