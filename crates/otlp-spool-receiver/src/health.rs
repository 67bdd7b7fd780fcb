//! [`Health`]: what `GET /health` (liveness) answers.
//!
//! Healthy means every check the embedding application registered reports no problem. A
//! check answers `None` when its part makes progress and `Some(problem)` when it cannot (for
//! example "traces writer: the last 3 writes failed"); `/health` then answers 503 with every
//! problem, one per line, so an operator (or an orchestrator restarting the process) sees
//! which part is stuck. Unlike readiness, health says nothing about load: a full buffer is
//! not ready, but healthy.

use std::fmt;
use std::sync::Arc;

type Check = dyn Fn() -> Option<String> + Send + Sync;

/// A set of liveness checks, cheap to clone; every clone runs the same checks.
///
/// ```
/// use otlp_spool_receiver::Health;
///
/// let health = Health::new();
/// assert!(health.problems().is_empty());
///
/// let health = Health::new().with_check(|| Some("traces writer: stuck".to_owned()));
/// assert_eq!(health.problems(), ["traces writer: stuck"]);
/// ```
#[derive(Clone, Default)]
pub struct Health {
    checks: Vec<Arc<Check>>,
}

impl Health {
    /// No checks: always healthy.
    pub fn new() -> Self {
        Health { checks: Vec::new() }
    }

    /// Adds a check. It runs on every `GET /health`; keep it cheap and non-blocking.
    pub fn with_check(
        mut self,
        check: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// The problems the checks report right now (empty when healthy).
    pub fn problems(&self) -> Vec<String> {
        self.checks.iter().filter_map(|check| check()).collect()
    }
}

impl fmt::Debug for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Health")
            .field("checks", &self.checks.len())
            .finish()
    }
}
