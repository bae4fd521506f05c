//! When the plugins were last loaded, by what, and what the load found and changed: the
//! plugins page shows it. Every load records here: the first, the reloader's (polling,
//! SIGHUP), `POST /admin/reload` and the console's reload button.

use std::sync::Mutex;
use std::time::SystemTime;

use plugmill::LoadReport;

/// One load that succeeded.
#[derive(Clone, Debug)]
pub(crate) struct LastLoad {
    /// When it ended, RFC 3339 in UTC.
    pub(crate) at: String,
    /// What started it.
    pub(crate) trigger: String,
    /// What it found and changed.
    pub(crate) report: LoadReport,
}

/// A load that failed (the previous plugins keep serving).
#[derive(Clone, Debug)]
pub(crate) struct FailedLoad {
    /// When it ended, RFC 3339 in UTC.
    pub(crate) at: String,
    /// Why.
    pub(crate) error: String,
}

#[derive(Default)]
struct Loads {
    ok: Option<LastLoad>,
    failed: Option<FailedLoad>,
}

/// The last load that succeeded, and a failure since.
#[derive(Default)]
pub(crate) struct LoadLog(Mutex<Loads>);

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

impl LoadLog {
    /// Records a load that ended now.
    pub(crate) fn record(&self, trigger: &str, outcome: Result<&LoadReport, String>) {
        let mut loads = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(report) => {
                loads.ok = Some(LastLoad {
                    at: now(),
                    trigger: trigger.to_string(),
                    report: report.clone(),
                });
                loads.failed = None;
            }
            Err(error) => loads.failed = Some(FailedLoad { at: now(), error }),
        }
    }

    /// The last load that succeeded, and the failure of a later one.
    pub(crate) fn last(&self) -> (Option<LastLoad>, Option<FailedLoad>) {
        let loads = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (loads.ok.clone(), loads.failed.clone())
    }
}
