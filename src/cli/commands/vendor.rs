//! `ferry vendor`.

use super::{cache_dir, load_pipeline, repo_root};
use crate::cli::args::{GlobalArgs, OutputFormat, VendorArgs};
use crate::cli::ExitCode;
use crate::source::WorkTree;
use crate::vendor::{vendor, ChartStore, Lock, RepoCredentials, VendorOptions, LOCK_FILE};

pub fn run(g: &GlobalArgs, a: VendorArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let tree = WorkTree::open(&root);
    let pipeline = load_pipeline(&tree, &root)?;
    let lock_path = root.join(LOCK_FILE);
    let mut lock = match std::fs::read_to_string(&lock_path) {
        Ok(t) => Lock::parse(&lock_path, &t)?,
        Err(_) => Lock::default(),
    };
    let dir = cache_dir(g).ok_or_else(|| {
        anyhow::anyhow!("no cache directory\nhint: set --cache-dir or FERRY_CACHE_DIR")
    })?;
    let store = ChartStore::new(&dir);
    let opts = VendorOptions {
        update: a.update,
        offline: g.offline,
    };
    let creds = RepoCredentials::parse(&a.repo_creds).map_err(|e| anyhow::anyhow!(e))?;
    let report = vendor(&pipeline, &mut lock, &store, &creds, &opts)?;
    let text = lock.to_yaml();
    if std::fs::read_to_string(&lock_path).ok().as_deref() != Some(text.as_str()) {
        let tmp = tempfile::NamedTempFile::new_in(&root)?;
        std::fs::write(tmp.path(), &text)?;
        tmp.persist(&lock_path)?;
    }
    match a.output {
        OutputFormat::Json => crate::outln!("{}", serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Text if !g.quiet => {
            for c in &report.fetched {
                crate::outln!("fetched  {c}")?;
            }
            for c in &report.present {
                crate::outln!("present  {c}")?;
            }
            for c in &report.dropped {
                crate::outln!("dropped  {c} (no app uses it)")?;
            }
            crate::outln!(
                "{} charts pinned in {}; cache: {}",
                lock.charts.len(),
                lock_path.display(),
                store.dir().display()
            )?;
        }
        OutputFormat::Text => {}
    }
    Ok(ExitCode::Success)
}
