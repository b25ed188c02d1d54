//! Configuration from the environment: the port, the downstream addresses (set by the
//! kubernetes and compose targets as `SERVICE_URL`, comma-separated per shard), and the
//! design's `env` with its values as defaults.

use std::env;

pub struct Config {
    pub port: u16,
{% for cl in c.clients %}
    /// `{{ cl.env|ident }}`: the `{{ cl.callee|ident }}` service.
    pub {{ cl.field|ident }}: Vec<String>,
{% endfor %}
    /// The design's `env`, each read from the environment with the design's value as default.
    pub env: Vec<(&'static str, String)>,
    /// The design's `secret`s, by environment variable; unset ones are `None`. Not `Debug`, so
    /// no log line prints them.
    pub secrets: Vec<(&'static str, Option<String>)>,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let port = match env::var("PORT") {
            Ok(p) => p
                .parse()
                .map_err(|_| format!("PORT `{p}` is not a port number"))?,
            Err(_) => {{ c.port }},
        };
        Ok(Config {
            port,
{% for cl in c.clients %}
            {{ cl.field|ident }}: addresses({{ cl.env }}, {{ cl.required }})?,
{% endfor %}
            env: vec![
{% for kv in c.env %}
                ({{ kv[0] }}, env::var({{ kv[0] }}).unwrap_or_else(|_| {{ kv[1] }}.to_string())),
{% endfor %}
            ],
            secrets: vec![
{% for k in c.secrets %}
                ({{ k }}, env::var({{ k }}).ok()),
{% endfor %}
            ],
        })
    }

    /// The value of one of the design's `env` variables.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of one of the design's secrets, when set.
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.secrets
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// `a,b` → `[a, b]` without trailing slashes. A deployed callee must have one; an external one
/// may be left unset until it is needed (calls then fail with `no address`).
pub fn addresses(name: &str, required: bool) -> Result<Vec<String>, String> {
    match env::var(name) {
        Ok(v) => Ok(v
            .split(',')
            .map(|a| a.trim().trim_end_matches('/').to_string())
            .filter(|a| !a.is_empty())
            .collect()),
        Err(_) if required => Err(format!("{name} is not set")),
        Err(_) => Ok(Vec::new()),
    }
}
