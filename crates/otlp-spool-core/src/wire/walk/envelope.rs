//! The three levels every signal shares: the export request (`resource_*` entries), a
//! resource entry (`resource`, `scope_*` entries, `schema_url`) and a scope entry (`scope`,
//! the items, `schema_url`). The field numbers are the same for traces, metrics and logs; only
//! the names and the item type differ.
//!
//! This is where items are counted and refused ones cut: an item's verdict is known once its
//! message has been walked, and its field's byte range is recorded for [`super::cut`].

use std::fmt::Write as _;

use super::error::{nth, within};
use super::{Fail, Msg, Walker};
use crate::Signal;

/// Field names of one signal's envelope, for error paths.
struct Names {
    resources: &'static str,
    scopes: &'static str,
    items: &'static str,
}

const fn names(signal: Signal) -> Names {
    match signal {
        Signal::Traces => Names {
            resources: "resource_spans",
            scopes: "scope_spans",
            items: "spans",
        },
        Signal::Metrics => Names {
            resources: "resource_metrics",
            scopes: "scope_metrics",
            items: "metrics",
        },
        Signal::Logs => Names {
            resources: "resource_logs",
            scopes: "scope_logs",
            items: "log_records",
        },
    }
}

impl Walker {
    /// `Export{Trace,Metrics,Logs}ServiceRequest`.
    pub(super) fn request(&mut self, m: Msg<'_>, signal: Signal) -> Result<(), Fail> {
        let names = names(signal);
        let mut fields = m.fields();
        let mut resources = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => nth(
                    m.sub(&f).and_then(|r| self.resource_entry(r, signal)),
                    names.resources,
                    &mut resources,
                )?,
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `Resource{Spans,Metrics,Logs}`.
    fn resource_entry(&mut self, m: Msg<'_>, signal: Signal) -> Result<(), Fail> {
        self.stats.resources += 1;
        let mut fields = m.fields();
        let mut scopes = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => within(m.sub(&f).and_then(|r| self.resource(r)), "resource")?,
                2 => nth(
                    m.sub(&f).and_then(|s| self.scope_entry(s, signal)),
                    names(signal).scopes,
                    &mut scopes,
                )?,
                3 => {
                    self.string(&f, "schema_url")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `Scope{Spans,Metrics,Logs}`: counts, and refuses, its items.
    fn scope_entry(&mut self, m: Msg<'_>, signal: Signal) -> Result<(), Fail> {
        self.stats.scopes += 1;
        let name = names(signal).items;
        let mut fields = m.fields();
        let mut items = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => within(m.sub(&f).and_then(|s| self.scope(s)), "scope")?,
                2 => match signal {
                    Signal::Metrics => {
                        self.items +=
                            nth(m.sub(&f).and_then(|i| self.metric(i)), name, &mut items)?;
                    }
                    Signal::Traces => {
                        let before = self.stats;
                        match nth(m.sub(&f).and_then(|i| self.span(i)), name, &mut items)? {
                            None => self.items += 1,
                            Some((span_name, problem)) => {
                                self.stats = before;
                                self.cuts.push(f.start..f.end);
                                let span_name = String::from_utf8_lossy(span_name);
                                self.refused.refuse(|msg| {
                                    let _ = write!(msg, "span {span_name:?} refused: {problem}");
                                });
                            }
                        }
                    }
                    Signal::Logs => {
                        let before = self.stats;
                        match nth(m.sub(&f).and_then(|i| self.log_record(i)), name, &mut items)? {
                            None => self.items += 1,
                            Some(problem) => {
                                self.stats = before;
                                self.cuts.push(f.start..f.end);
                                self.refused.refuse(|msg| {
                                    let _ = write!(msg, "log record refused: {problem}");
                                });
                            }
                        }
                    }
                },
                3 => {
                    self.string(&f, "schema_url")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }
}
