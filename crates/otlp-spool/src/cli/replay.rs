//! `otlp-spool replay DIR --to URL`: sends stored files to an OTLP endpoint again, through the
//! same `Forwarder` (retries, breaker, auth, TLS, headers, compression) that `forward:`
//! configures, losslessly (rows become the OTLP requests they came from), resumably.
//!
//! Delivery is one chunk at a time (at most `--batch-items` rows of one record batch): a chunk
//! is handed to the forwarder, the forwarder is flushed, and its counters say what became of
//! the chunk. Only then does the state file (`--state`, by default
//! `DIR/.otlp-spool-replay/<endpoint>.json`) move past it, written to a temporary name,
//! fsynced and renamed.
//!
//! Invariants:
//! - A chunk is recorded as sent only after the remote acknowledged it (or refused it
//!   permanently, which is counted as failed); a chunk the remote could not take in time
//!   stops the run with the state still before it.
//! - Stopping on SIGINT/SIGTERM or `--limit` happens between chunks, so a resumed run (the
//!   same command) sends exactly the rest. Only a `kill -9` during a chunk's delivery can
//!   make that one chunk go out twice.
//! - Exit status: 0 when everything asked for was delivered (or `--limit` was reached), 1 when
//!   the run could not start, 3 when items were not delivered (refused by the remote, or the
//!   remote unavailable: resume later), 130 / 143 when interrupted by SIGINT / SIGTERM.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime};

use arrow_array::RecordBatch;
use otlp_spool_core::{Signal, Sink as _, Telemetry};
use otlp_spool_exporters::Forwarder;
use otlp_spool_storage::{ConvertError, arrow_to_logs, arrow_to_metrics, arrow_to_traces};
use otlp_spool_viewer::{list_files, read_batches, row_count, rows_in_time, time};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Overrides};

#[derive(Debug, clap::Args)]
pub(super) struct ReplayArgs {
    /// The output directory to read (finalized files only).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The OTLP endpoint: http://host:port or https://host:port.
    #[arg(long, value_name = "URL")]
    to: String,
    /// grpc | http/protobuf | http/json (default: forward.protocol of --config, else grpc).
    #[arg(long, value_name = "PROTOCOL")]
    protocol: Option<String>,
    /// Only this signal (traces, metrics, logs); repeat for several. Default: all.
    #[arg(long = "signal", value_name = "SIGNAL")]
    signals: Vec<String>,
    /// Only items at or after this time (RFC 3339, a date, or a duration ago such as 2h).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only items before this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// At most this many items per second.
    #[arg(long, value_name = "ITEMS")]
    rate: Option<f64>,
    /// A configuration file whose `forward:` section gives auth, TLS, headers, compression,
    /// retry and breaker settings (its endpoint is replaced by --to).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where progress is kept. Default DIR/.otlp-spool-replay/<endpoint>.json.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Ignore the state of an earlier run and start from the beginning.
    #[arg(long)]
    restart: bool,
    /// Stop after this many stored items (resume later with the same command).
    #[arg(long, value_name = "ITEMS")]
    limit: Option<u64>,
    /// Rows per request.
    #[arg(long, value_name = "ITEMS", default_value_t = 2048)]
    batch_items: usize,
    /// How long one request may take to be delivered (retries included) before the run stops.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    timeout: String,
}

/// Where a file's replay stands: the next row to send is row `row` of batch `batch`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    batch: u64,
    row: u64,
    done: bool,
}

/// The state file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct State {
    endpoint: String,
    protocol: String,
    signals: Vec<String>,
    /// `--since` / `--until` as given: a resumed run must give the same text, and then keeps
    /// the instants the first run computed (so `--since 2h` means the same rows on resume).
    since_text: Option<String>,
    until_text: Option<String>,
    since: Option<u64>,
    until: Option<u64>,
    /// `<signal>/<file name>` -> position.
    files: BTreeMap<String, Position>,
    delivered_items: u64,
    failed_items: u64,
}

impl State {
    fn same_run(&self, other: &State) -> bool {
        let key = |s: &State| {
            (
                s.endpoint.clone(),
                s.protocol.clone(),
                s.signals.clone(),
                s.since_text.clone(),
                s.until_text.clone(),
            )
        };
        key(self) == key(other)
    }
}

fn load_state(path: &Path) -> Result<Option<State>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("state file {}: {e} (use --restart)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("state file {}: {e}", path.display())),
    }
}

/// Writes the state under a temporary name, fsyncs it and renames it into place.
fn save_state(path: &Path, state: &State) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("writing state file {}: {e}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    let body = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    f.write_all(&body).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

fn default_state_path(dir: &Path, endpoint: &str, protocol: &str) -> PathBuf {
    let key: String = format!("{endpoint}-{protocol}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    dir.join(".otlp-spool-replay").join(format!("{key}.json"))
}

/// The one place where stored rows become a [`Telemetry`] batch.
fn telemetry(signal: Signal, batch: &RecordBatch) -> Result<Telemetry, ConvertError> {
    Ok(match signal {
        Signal::Traces => Telemetry::from(arrow_to_traces(batch)?),
        Signal::Metrics => Telemetry::from(arrow_to_metrics(batch)?),
        Signal::Logs => Telemetry::from(arrow_to_logs(batch)?),
    })
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Done,
    Limit,
    Unavailable(String),
    Interrupted(u8),
    Failed(String),
}

#[derive(Debug, Default)]
struct Counts {
    delivered: [u64; 3],
    failed: u64,
    outside_range: u64,
    files: u64,
    /// Files that could not be read to their end (damaged), with why; skipped, not done.
    damaged: Vec<String>,
}

struct Run<'a> {
    args: &'a ReplayArgs,
    forwarder: Forwarder,
    state: State,
    state_path: PathBuf,
    timeout: Duration,
    stop: Arc<AtomicU8>,
    bar: indicatif::ProgressBar,
    counts: Counts,
    processed: u64,
    started: tokio::time::Instant,
    sent_for_rate: u64,
}

impl Run<'_> {
    fn save(&self) -> Result<(), End> {
        save_state(&self.state_path, &self.state).map_err(End::Failed)
    }

    /// Hands one chunk to the forwarder and waits for its fate.
    async fn deliver(&mut self, signal: Signal, rows: &RecordBatch) -> Result<(), End> {
        let batch = match telemetry(signal, rows) {
            Ok(t) => t,
            Err(e) => {
                // Rows this build cannot turn back into OTLP: counted, never sent.
                self.counts.failed += rows.num_rows() as u64;
                self.state.failed_items += rows.num_rows() as u64;
                self.bar
                    .println(format!("replay: {signal} rows not convertible: {e}"));
                return Ok(());
            }
        };
        let items = batch.item_count() as u64;
        let before = self.forwarder.stats();
        if let Err(e) = self.forwarder.accept(batch) {
            return Err(End::Unavailable(format!(
                "the forwarder refused a batch: {e}"
            )));
        }
        let idle = self.forwarder.flush(self.timeout).await;
        let after = self.forwarder.stats();
        let forwarded = after.forwarded_items - before.forwarded_items;
        let refused = (after.failed_items + after.rejected_items)
            - (before.failed_items + before.rejected_items);
        let dropped = after.dropped_items - before.dropped_items;
        if !idle || dropped > 0 {
            return Err(End::Unavailable(format!(
                "{} did not take {items} {signal} items within {:?}",
                self.args.to, self.timeout
            )));
        }
        self.counts.delivered[signal.index()] += forwarded;
        self.state.delivered_items += forwarded;
        self.counts.failed += refused;
        self.state.failed_items += refused;
        self.sent_for_rate += items;
        if let Some(rate) = self.args.rate.filter(|r| *r > 0.0) {
            let due = Duration::from_secs_f64(self.sent_for_rate as f64 / rate);
            tokio::time::sleep_until(self.started + due).await;
        }
        Ok(())
    }

    async fn file(
        &mut self,
        signal: Signal,
        file: &otlp_spool_viewer::SpoolFile,
    ) -> Result<(), End> {
        let key = format!("{}/{}", signal.as_str(), file.name);
        let mut pos = self.state.files.get(&key).copied().unwrap_or_default();
        if pos.done {
            return Ok(());
        }
        // A damaged file is skipped with a warning (after the batches before the damage);
        // the run goes on with the next file and exits non-zero at the end.
        let damaged = |run: &mut Self, e: otlp_spool_viewer::ViewerError| {
            run.bar
                .println(format!("replay: skipping a damaged file: {e}"));
            run.counts.damaged.push(e.to_string());
        };
        let batches = match read_batches(file) {
            Ok(b) => b,
            Err(e) => {
                damaged(self, e);
                return Ok(());
            }
        };
        for (b, batch) in batches.enumerate() {
            let b = b as u64;
            if b < pos.batch {
                continue;
            }
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    damaged(self, e);
                    return Ok(());
                }
            };
            let rows = batch.num_rows() as u64;
            let mut off = if b == pos.batch { pos.row } else { 0 };
            while off < rows {
                let signaled = self.stop.load(Ordering::SeqCst);
                if signaled != 0 {
                    return Err(End::Interrupted(signaled));
                }
                let mut len = (rows - off).min(self.args.batch_items.max(1) as u64);
                if let Some(limit) = self.args.limit {
                    if self.processed >= limit {
                        return Err(End::Limit);
                    }
                    len = len.min(limit - self.processed);
                }
                let chunk = batch.slice(off as usize, len as usize);
                let selected = rows_in_time(signal, &chunk, self.state.since, self.state.until)
                    .map_err(|e| End::Failed(e.to_string()))?;
                self.counts.outside_range += len - selected.num_rows() as u64;
                if selected.num_rows() > 0 {
                    self.deliver(signal, &selected).await?;
                }
                off += len;
                self.processed += len;
                pos = Position {
                    batch: b,
                    row: off,
                    done: false,
                };
                self.state.files.insert(key.clone(), pos);
                self.save()?;
                self.bar.inc(len);
            }
        }
        self.state.files.insert(key, Position { done: true, ..pos });
        self.counts.files += 1;
        self.save()
    }
}

fn parse_signal(s: &str) -> Result<Signal, String> {
    Signal::ALL
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| format!("--signal `{s}`: expected traces, metrics or logs"))
}

pub(super) fn run(args: ReplayArgs) -> ExitCode {
    super::ui::init_stderr_logging("warn");
    match start(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("otlp-spool replay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn start(args: &ReplayArgs) -> Result<ExitCode, String> {
    if !args.dir.is_dir() {
        return Err(format!("{} is not a directory", args.dir.display()));
    }
    let config = Config::load(&Overrides {
        config_file: args.config.clone(),
        forward_endpoint: Some(args.to.clone()),
        forward_protocol: args.protocol.clone(),
        ..Overrides::default()
    })
    .map_err(|e| e.to_string())?;
    let forward = config
        .forward
        .clone()
        .ok_or("no forward settings (internal: --to sets them)")?;
    let now = SystemTime::now();
    let parse_time = |flag: &str, v: &Option<String>| -> Result<Option<u64>, String> {
        v.as_deref()
            .map(|t| time::parse_time(t, now).map_err(|e| format!("{flag} {e}")))
            .transpose()
    };
    let mut signals = args
        .signals
        .iter()
        .map(|s| parse_signal(s))
        .collect::<Result<Vec<_>, _>>()?;
    if signals.is_empty() {
        signals = Signal::ALL.to_vec();
    }
    signals.sort_by_key(|s| s.index());
    signals.dedup();
    let timeout = time::parse_duration(&args.timeout)
        .map(Duration::from_nanos)
        .map_err(|e| format!("--timeout {e}"))?;
    let protocol = serde_json::to_value(forward.protocol)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let fresh = State {
        endpoint: forward.endpoint.clone(),
        protocol: protocol.clone(),
        signals: signals.iter().map(|s| s.as_str().to_owned()).collect(),
        since_text: args.since.clone(),
        until_text: args.until.clone(),
        since: parse_time("--since", &args.since)?,
        until: parse_time("--until", &args.until)?,
        ..State::default()
    };
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| default_state_path(&args.dir, &forward.endpoint, &protocol));
    let state = match load_state(&state_path)? {
        Some(old) if !args.restart => {
            if !old.same_run(&fresh) {
                return Err(format!(
                    "state file {} belongs to another replay (endpoint, protocol, signals or time range differ): use --restart or --state",
                    state_path.display()
                ));
            }
            old
        }
        _ => fresh,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async {
        let forwarder = crate::forward::build(&forward).map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicU8::new(0));
        spawn_signal_watch(stop.clone());
        // Files oldest first; the bar counts the rows still to read.
        let mut work = Vec::new();
        let mut total = 0u64;
        for &signal in &signals {
            let mut files = list_files(&args.dir, signal, false).map_err(|e| e.to_string())?;
            files.reverse();
            for f in files {
                let key = format!("{}/{}", signal.as_str(), f.name);
                let pos = state.files.get(&key).copied().unwrap_or_default();
                if pos.done {
                    continue;
                }
                total += row_count(&f).unwrap_or(0).saturating_sub(pos.row);
                work.push((signal, f));
            }
        }
        let bar = super::inspect::progress_bar(
            args.limit.map_or(total, |l| l.min(total)),
            "{bar:40} {pos}/{len} items, {per_sec}, ETA {eta} {msg}",
        );
        let mut run = Run {
            args,
            forwarder,
            state,
            state_path,
            timeout,
            stop,
            bar,
            counts: Counts::default(),
            processed: 0,
            started: tokio::time::Instant::now(),
            sent_for_rate: 0,
        };
        let mut end = End::Done;
        for (signal, file) in &work {
            if let Err(e) = run.file(*signal, file).await {
                end = e;
                break;
            }
        }
        if end == End::Done
            && let Err(e) = run.save()
        {
            end = e;
        }
        run.bar.finish_and_clear();
        let report = run.forwarder.shutdown(Duration::from_secs(2)).await;
        Ok(finish(&run, &end, report.dropped_items))
    })
}

fn spawn_signal_watch(stop: Arc<AtomicU8>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, code) in [
        (SignalKind::interrupt(), 2u8),
        (SignalKind::terminate(), 15u8),
    ] {
        if let Ok(mut s) = signal(kind) {
            let stop = stop.clone();
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    stop.store(code, Ordering::SeqCst);
                }
            });
        }
    }
}

fn finish(run: &Run<'_>, end: &End, dropped_at_shutdown: u64) -> ExitCode {
    let c = &run.counts;
    let [traces, metrics, logs] = c.delivered;
    println!(
        "replay to {}: delivered {} items (traces {traces}, metrics {metrics}, logs {logs}); {} refused by the remote; {} outside the time range; {} files completed",
        run.args.to,
        traces + metrics + logs,
        c.failed,
        c.outside_range,
        c.files
    );
    println!(
        "state: {} (delivered {} and refused {} items in all runs)",
        run.state_path.display(),
        run.state.delivered_items,
        run.state.failed_items
    );
    if dropped_at_shutdown > 0 {
        eprintln!("replay: {dropped_at_shutdown} items still queued at the end were not delivered");
    }
    for why in &c.damaged {
        eprintln!("replay: not delivered (damaged file): {why}");
    }
    match end {
        End::Done if c.failed == 0 && dropped_at_shutdown == 0 && c.damaged.is_empty() => {
            ExitCode::SUCCESS
        }
        End::Done if c.failed == 0 && dropped_at_shutdown == 0 => {
            eprintln!(
                "replay: {} files could not be read; the rest was delivered",
                c.damaged.len()
            );
            ExitCode::from(3)
        }
        End::Done => {
            eprintln!("replay: some items were refused permanently by the remote");
            ExitCode::from(3)
        }
        End::Limit => {
            eprintln!("replay: stopped at --limit; run the same command again to send the rest");
            if c.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            }
        }
        End::Unavailable(why) => {
            eprintln!("replay: stopped: {why}; run the same command again to resume");
            ExitCode::from(3)
        }
        End::Interrupted(signal) => {
            eprintln!("replay: interrupted; run the same command again to resume");
            ExitCode::from(128 + signal)
        }
        End::Failed(why) => {
            eprintln!("replay: {why}");
            ExitCode::from(3)
        }
    }
}
