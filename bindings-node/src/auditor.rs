//! The auditor's path: `verifyLog` and `NativeLogView`, wrapped by
//! `lib/auditor.js`. Both only read the log file and its checkpoint and
//! take no lock. Verifying and opening a view read the whole file, so they
//! have a Promise form that runs on a pool thread and a `Sync` form; a
//! view's proofs come from memory. What is trusted and what counts as a
//! problem is the core's to decide.

use std::path::PathBuf;
use std::sync::Arc;

use charter_core::audit::{self, LogView, VerifyOptions};
use napi::bindgen_prelude::{Buffer, Env, Object};
use napi_derive::napi;

use crate::audit::{buffers, verify_on_pool, VerifyReportView};
use crate::error::{boundary, from_core, Result};
use crate::promise::on_pool;

/// What `verifyLog` trusts and requires.
#[napi(object)]
pub struct VerifySpec {
    pub log_key: Option<String>,
    pub allow_missing_checkpoint: Option<bool>,
    pub against: Option<String>,
    pub witnesses: Option<Vec<String>>,
    pub quorum: Option<f64>,
    pub state: Option<String>,
}

fn verify_options(spec: VerifySpec) -> VerifyOptions {
    VerifyOptions {
        log_key: spec.log_key,
        allow_missing_checkpoint: spec.allow_missing_checkpoint.unwrap_or(false),
        against: spec.against,
        witnesses: spec.witnesses.unwrap_or_default(),
        quorum: spec.quorum.map_or(0, |q| q as usize),
        state: spec.state.map(PathBuf::from),
    }
}

/// Verifies the log file at `path` on a pool thread, without writing.
#[napi(ts_return_type = "Promise<VerifyReportView | undefined>")]
pub fn verify_log<'env>(env: &'env Env, path: String, spec: VerifySpec) -> Result<Object<'env>> {
    boundary(|| {
        let options = verify_options(spec);
        verify_on_pool(env, move || audit::verify_log(&path, &options))
    })
}

/// `verifyLog` on this thread.
#[napi]
pub fn verify_log_sync(path: String, spec: VerifySpec) -> Result<VerifyReportView> {
    boundary(|| Ok(audit::verify_log(&path, &verify_options(spec)).map_err(from_core)?.into()))
}

/// A read-only snapshot of a log file, for proofs.
#[napi]
pub struct NativeLogView {
    view: Arc<LogView>,
}

#[napi]
impl NativeLogView {
    /// Reads the log at `path` on a pool thread.
    #[napi(ts_return_type = "Promise<NativeLogView | undefined>")]
    pub fn open<'env>(env: &'env Env, path: String) -> Result<Object<'env>> {
        boundary(|| on_pool(env, move || LogView::open(&path), |view| NativeLogView { view: Arc::new(view) }))
    }

    /// `open` on this thread.
    #[napi(factory)]
    pub fn open_sync(path: String) -> Result<NativeLogView> {
        boundary(|| Ok(NativeLogView { view: Arc::new(LogView::open(&path).map_err(from_core)?) }))
    }

    /// The number of records read.
    #[napi(getter)]
    pub fn length(&self) -> f64 {
        self.view.len() as f64
    }

    /// The root of the records read.
    #[napi]
    pub fn root(&self) -> Buffer {
        self.view.root().as_slice().into()
    }

    /// The root of the first `size` records.
    #[napi]
    pub fn root_at(&self, size: f64) -> Result<Buffer> {
        boundary(|| Ok(self.view.root_at(size as u64).map_err(from_core)?.as_slice().into()))
    }

    /// The leaf hash of record `index`.
    #[napi]
    pub fn leaf_hash(&self, index: f64) -> Result<Buffer> {
        boundary(|| Ok(self.view.leaf_hash(index as u64).map_err(from_core)?.as_slice().into()))
    }

    /// The inclusion proof of record `index` in the tree of `size`.
    #[napi]
    pub fn prove_inclusion(&self, index: f64, size: f64) -> Result<Vec<Buffer>> {
        boundary(|| Ok(buffers(&self.view.prove_inclusion(index as u64, size as u64).map_err(from_core)?)))
    }

    /// The consistency proof from `oldSize` to `newSize`.
    #[napi]
    pub fn prove_consistency(&self, old_size: f64, new_size: f64) -> Result<Vec<Buffer>> {
        boundary(|| {
            Ok(buffers(&self.view.prove_consistency(old_size as u64, new_size as u64).map_err(from_core)?))
        })
    }

    /// The persisted checkpoint note, read now (a small bounded read).
    #[napi]
    pub fn checkpoint(&self) -> Result<Option<String>> {
        boundary(|| self.view.checkpoint().map_err(from_core))
    }
}
