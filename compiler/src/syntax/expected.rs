//! Turns pest's "expected rules" into a message in words.

use super::Rule;
use crate::diagnostics::{Diagnostic, codes};
use crate::source::{FileId, Span};
use pest::error::{Error, ErrorVariant, InputLocation};

pub fn diagnose(file: FileId, text: &str, error: Error<Rule>) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((p, _)) => p,
    };
    let found = token_at(text, pos);
    let end = pos
        + found
            .len()
            .max(1)
            .min(text.len().saturating_sub(pos).max(1));
    let span = Span::new(file, pos, end.min(text.len().max(pos)));
    let mut wanted: Vec<String> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives
            .iter()
            .filter_map(|r| describe(*r))
            .map(str::to_string)
            .collect(),
        ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    wanted.sort();
    wanted.dedup();
    let control = found.chars().next().filter(|c| c.is_control());
    let what = match control {
        _ if found.is_empty() => "end of file".to_string(),
        Some(c) => format!("control character `{}`", c.escape_unicode()),
        None => format!("`{found}`"),
    };
    let label = match group(&wanted) {
        Some(g) => format!("expected {g}"),
        None if wanted.is_empty() => "not expected here".to_string(),
        None => format!("expected {}", list(&wanted)),
    };
    let mut d =
        Diagnostic::new(codes::UNEXPECTED_INPUT, format!("unexpected {what}")).at(span, label);
    if control.is_some() {
        return d.help("remove it: `.arch` files are plain text");
    }
    if let Some(help) = hint(&wanted, found) {
        d = d.help(help);
    }
    d
}

/// The word or character at `pos`, for the message.
fn token_at(text: &str, pos: usize) -> &str {
    let rest = text.get(pos..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "";
    };
    if first.is_alphanumeric() || first == '_' {
        let end = rest
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .map_or(rest.len(), |(i, _)| i);
        &rest[..end.min(40)]
    } else {
        &rest[..first.len_utf8()]
    }
}

/// Long alternatives name the kind of statement instead of every keyword.
fn group(wanted: &[String]) -> Option<String> {
    let has = |w: &str| wanted.iter().any(|x| x == w);
    let with_close = |s: &str| format!("{s}, or `}}` to close the block");
    if has("`image`") && has("`endpoint`") {
        return Some(with_close(
            "a service field such as `image`, `cpu`, `replicas`, `endpoint` or `time`",
        ));
    }
    if has("`call`") && has("`cache`") {
        return Some(with_close(
            "an endpoint statement: `time`, `call`, `parallel`, `cache` or `batch`",
        ));
    }
    if has("`service`") && has("`workload`") {
        return Some(with_close(
            "`service`, `workload`, `pricing`, `cluster`, `budget`, `deploy` or `scenario`",
        ));
    }
    if has("`entry`") && has("`slo`") {
        return Some(with_close(
            "a workload field: `entry`, `rate`, `arrivals`, `slo`, `every`, `work` or `deadline`",
        ));
    }
    if has("`expect`") && has("`load`") {
        return Some(with_close("`load`, `fail`, `set` or `expect`"));
    }
    if has("`when`") && has("`times`") {
        let mut rest: Vec<String> = wanted
            .iter()
            .filter(|w| {
                !["`when`", "`times`", "`async`", "`timeout`", "`retries`"].contains(&w.as_str())
            })
            .cloned()
            .collect();
        rest.insert(
            0,
            "a call modifier (`when`, `times`, `async`, `timeout`, `retries`)".into(),
        );
        return Some(with_close(&list(&rest)));
    }
    None
}

fn list(items: &[String]) -> String {
    match items.len() {
        1 => items[0].clone(),
        n if n > 8 => format!("{}, … or {}", items[..6].join(", "), items[n - 1]),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

fn hint(wanted: &[String], found: &str) -> Option<String> {
    let has = |w: &str| wanted.iter().any(|x| x == w);
    if let Some((_, unit)) = UNIT_SPELLINGS.iter().find(|(w, _)| *w == found) {
        return Some(format!(
            "did you mean `{unit}`? a unit follows its number, as in `100{unit}`"
        ));
    }
    if KEYWORDS.contains(&found) {
        return Some(match home(found) {
            Some(home) => format!("`{found}` belongs in {home}, not here"),
            None => format!("`{found}` cannot appear here"),
        });
    }
    if has("an amount such as `$0.5/h`") {
        return Some(
            "amounts start with `$` and name their period: `$0.5/h`, `$40000/month`".into(),
        );
    }
    if found
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
    {
        if let Some(s) = crate::diagnostics::did_you_mean(found, KEYWORDS.iter().copied()) {
            return Some(s);
        }
    }
    if (has("a number") || has("a quantity")) && found.starts_with('-') {
        return Some("quantities cannot be negative".into());
    }
    if has("`{`") && !has("`service`") {
        return None;
    }
    if has("`use`") && has("`system`") {
        return Some(
            "a file holds `use` imports, `template`s and at most one `system { … }`".into(),
        );
    }
    if has("`image`") {
        return Some("see `docs/language.md` for the fields a service takes".into());
    }
    None
}

/// Units from other tools, written spaced after a number where the grammar expects a statement.
const UNIT_SPELLINGS: &[(&str, &str)] = &[
    ("qps", "rps"),
    ("req", "rps"),
    ("sec", "s"),
    ("secs", "s"),
    ("seconds", "s"),
    ("msec", "ms"),
    ("mins", "min"),
    ("minutes", "min"),
    ("hr", "h"),
    ("hrs", "h"),
    ("hours", "h"),
];

/// Where a misplaced keyword belongs.
fn home(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "image" | "port" | "protocol" | "cpu" | "memory" | "gpu" | "workers" | "replicas"
        | "shards" | "balance" | "kind" | "env" | "labels" | "secret" | "cost" | "health"
        | "warmup" | "endpoint" => "a `service` or `template`",
        "time" | "call" | "cache" | "batch" => "an `endpoint` (or a short-form `service`)",
        "when" | "times" | "async" | "timeout" | "retries" => "a `call`, after its target",
        "entry" | "rate" | "arrivals" | "slo" | "every" | "work" | "deadline" => "a `workload`",
        "load" | "fail" | "set" | "expect" => "a `scenario`",
        "service" | "workload" | "scenario" | "deploy" | "pricing" | "cluster" | "budget" => {
            "a `system { … }`"
        }
        "use" | "template" | "system" => "the top level of a file",
        _ => return None,
    })
}

/// Every keyword, for did-you-mean on a misspelt statement.
const KEYWORDS: &[&str] = &[
    "arrivals", "async", "balance", "batch", "blocking", "budget", "bursty", "cache", "call",
    "cluster", "cost", "cpu", "deadline", "deploy", "endpoint", "entry", "env", "every", "expect",
    "extends", "fail", "gpu", "health", "image", "kind", "labels", "load", "memory", "parallel",
    "port", "pricing", "protocol", "rate", "replicas", "retries", "scenario", "secret", "service",
    "set", "shards", "slo", "system", "template", "time", "timeout", "times", "trace", "use",
    "warmup", "when", "work", "workers", "workload",
];

/// A rule in words, or `None` for rules that are never worth naming.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        EOI => "end of file",
        ident => "a name",
        number => "a number",
        quantity => "a quantity",
        money => "an amount such as `$0.5/h`",
        string => "a string",
        path => "a name",
        name_list => "`{`",
        std_path => "a module such as `std.ml`",
        stat => "a statistic such as `p99` or `mean`",
        comparator => "`<`",
        replica_range => "a range such as `2..10`",
        batch_range => "a range such as `8..64`",
        gpu_choice => "`one_of(TYPE, TYPE)`",
        time_on => "`on TYPE`",
        service_time | dist_call => "a distribution such as `exp(5ms)`",
        batch_time => "a batch time such as `2ms + 0.3ms per item`",
        fitted => "percentiles such as `p50 3ms p99 14ms`",
        poisson => "`poisson`",
        bursty => "`bursty(scv 4)`",
        trace => "`trace(\"file.csv\")`",
        expect_slo => "`slo`",
        expect_cmp => "a figure such as `homepage.p99`",
        value => "a value",
        setting => "a setting",
        key_value => "a `KEY \"value\"` pair",
        resource => "`cpu`, `memory` or `gpu TYPE`",
        gpu_resource => "`gpu TYPE`",
        // statements: named by the keyword they start with
        use_decl => "`use`",
        template_decl => "`template`",
        system_decl => "`system`",
        pricing_decl => "`pricing`",
        cluster_decl => "`cluster`",
        budget_decl => "`budget`",
        workload_decl => "`workload`",
        service_decl => "`service`",
        deploy_decl => "`deploy`",
        scenario_decl => "`scenario`",
        endpoint_decl => "`endpoint`",
        _ => return keyword(rule),
    })
}

fn keyword(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        arrivals | arrivals_kw => "`arrivals`",
        async_ | async_kw => "`async`",
        balance | balance_kw => "`balance`",
        batch | batch_kw => "`batch`",
        blocking | blocking_kw => "`blocking`",
        bursty_kw => "`bursty`",
        cache | cache_kw => "`cache`",
        call | call_kw => "`call`",
        cost | cost_kw => "`cost`",
        cpu | cpu_kw => "`cpu`",
        deadline | deadline_kw => "`deadline`",
        entry | entry_kw => "`entry`",
        env | env_kw => "`env`",
        every | every_kw => "`every`",
        expect | expect_kw => "`expect`",
        extends | extends_kw => "`extends`",
        fail | fail_kw => "`fail`",
        from_kw => "`from`",
        gpu | gpu_kw => "`gpu`",
        health | health_kw => "`health`",
        hit_kw => "`hit`",
        image | image_kw => "`image`",
        item_kw => "`item`",
        kind | kind_kw => "`kind`",
        labels | labels_kw => "`labels`",
        load | load_kw => "`load`",
        max_kw => "`max`",
        memory | memory_kw => "`memory`",
        of_kw => "`of`",
        on_kw => "`on`",
        one_of_kw => "`one_of`",
        parallel | parallel_kw | fanout => "`parallel`",
        per_kw => "`per`",
        port | port_kw => "`port`",
        pricing_kw => "`pricing`",
        protocol | protocol_kw => "`protocol`",
        rate | rate_kw => "`rate`",
        replicas | replicas_kw => "`replicas`",
        retries | retries_kw => "`retries`",
        scv_kw => "`scv`",
        secret | secret_kw => "`secret`",
        set | set_kw => "`set`",
        shards | shards_kw => "`shards`",
        slo | slo_kw => "`slo`",
        time | time_kw => "`time`",
        timeout | timeout_kw => "`timeout`",
        times | times_kw => "`times`",
        trace_kw => "`trace`",
        use_kw => "`use`",
        wait_kw => "`wait`",
        warmup | warmup_kw => "`warmup`",
        when | when_kw => "`when`",
        work | work_kw => "`work`",
        workers | workers_kw => "`workers`",
        x_kw => "`x`",
        system_kw => "`system`",
        template_kw => "`template`",
        service_kw => "`service`",
        workload_kw => "`workload`",
        scenario_kw => "`scenario`",
        deploy_kw => "`deploy`",
        endpoint_kw => "`endpoint`",
        budget_kw => "`budget`",
        cluster_kw => "`cluster`",
        _ => return None,
    })
}
