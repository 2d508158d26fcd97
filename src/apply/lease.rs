//! A lock held in a `coordination.k8s.io/v1` Lease, as client-go's leader election holds one:
//! one holder at a time, renewed while held, released at the end, and taken over from another
//! holder only once it expired. `ferry apply` holds one per inventory, so two applies into one
//! ApplySet cannot prune what the other created; an agent in the cluster can hold one per sync
//! for leader election with the same calls ([`LeaseLock::acquire`], [`hold_while`],
//! [`HeldLease::release`]).
//!
//! Expiry is judged by this process's own clock, never by comparing the Lease's `renewTime`
//! with it: a holder is considered gone when its record (the resourceVersion) has not changed
//! for a whole `leaseDurationSeconds` while this process watched. Skewed clocks between
//! machines therefore never let a live holder lose its lock; the price is that a lock left by
//! a crashed holder is taken over one lease duration after the first look.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use std::future::Future;
use std::time::{Duration, Instant};

/// What to lock and how.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// Who holds it: unique per process (see [`default_holder`]).
    pub holder: String,
    /// `leaseDurationSeconds`: how long the lock stays ours without a renewal. Renewed every
    /// third of it.
    pub duration: Duration,
    /// How often a waiter looks again.
    pub retry: Duration,
}

impl LeaseConfig {
    /// A lock on `namespace/name` with client-go's leader-election timings (15 s lease, a
    /// look every 2 s) and this process as the holder.
    pub fn new(namespace: &str, name: &str) -> LeaseConfig {
        LeaseConfig {
            namespace: namespace.to_string(),
            name: name.to_string(),
            holder: default_holder(),
            duration: Duration::from_secs(15),
            retry: Duration::from_secs(2),
        }
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }

    /// `Lease namespace/name`, for messages.
    pub fn describe(&self) -> String {
        format!("Lease {}/{}", self.namespace, self.name)
    }
}

/// `ferry@<host> pid <pid> <random>`: tells a person where the holder runs, and is never
/// the same for two processes.
pub fn default_holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    let nonce: u32 = rand::random();
    format!("ferry@{host} pid {} {nonce:08x}", std::process::id())
}

/// Who holds a lock this process is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub identity: String,
    /// `renewTime` as the holder wrote it (by its clock).
    pub renewed: Option<String>,
    /// The holder's `leaseDurationSeconds`.
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("{what} {lease}: {source}")]
    Api {
        what: &'static str,
        lease: String,
        #[source]
        source: kube::Error,
    },
    #[error("{lease} is held by {holder} (another apply into the same inventory); gave up after {}s\nhint: wait for it to finish, or raise --lock-timeout", waited.as_secs())]
    Timeout {
        lease: String,
        holder: String,
        waited: Duration,
    },
    #[error("lost {lease}: {reason}; stopped, so that two holders never act at once\nhint: run again; the next run converges")]
    Lost { lease: String, reason: String },
}

/// One try at the lock.
#[derive(Debug)]
pub enum Attempt {
    Acquired(Box<HeldLease>),
    /// Someone else holds it and it has not expired.
    Busy(Holder),
}

/// A lock on one Lease, for one holder.
pub struct LeaseLock {
    api: Api<Lease>,
    cfg: LeaseConfig,
    /// The other holder's record as last seen, and when it was first seen unchanged.
    observed: Option<(String, Instant)>,
}

/// The lock, held: renew it while the work runs ([`hold_while`]), release it at the end.
#[derive(Debug)]
pub struct HeldLease {
    api: Api<Lease>,
    cfg: LeaseConfig,
    lease: Lease,
    /// When the last successful write (acquire or renew) was sent.
    renewed: Instant,
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

impl LeaseLock {
    pub fn new(client: Client, cfg: LeaseConfig) -> LeaseLock {
        LeaseLock {
            api: Api::namespaced(client, &cfg.namespace),
            cfg,
            observed: None,
        }
    }

    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    fn api_err(&self, what: &'static str) -> impl FnOnce(kube::Error) -> LeaseError + '_ {
        move |source| LeaseError::Api {
            what,
            lease: self.cfg.describe(),
            source,
        }
    }

    fn held(&self, lease: Lease) -> HeldLease {
        HeldLease {
            api: self.api.clone(),
            cfg: self.cfg.clone(),
            lease,
            renewed: Instant::now(),
        }
    }

    /// Takes the lock if it is free, ours, released or expired; otherwise says who holds it.
    /// A lost race (another process created or took it first) is `Busy`, never an error.
    ///
    /// # Errors
    /// The API server refused or could not be reached.
    pub async fn try_acquire(&mut self) -> Result<Attempt, LeaseError> {
        let sent = Instant::now();
        let current = self
            .api
            .get_opt(&self.cfg.name)
            .await
            .map_err(self.api_err("reading"))?;
        let Some(mut lease) = current else {
            let fresh = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.name.clone()),
                    namespace: Some(self.cfg.namespace.clone()),
                    labels: Some(
                        [("app.kubernetes.io/managed-by".to_string(), "ferry".into())].into(),
                    ),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.cfg.holder.clone()),
                    lease_duration_seconds: Some(self.cfg.duration_seconds()),
                    acquire_time: Some(now()),
                    renew_time: Some(now()),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &fresh).await {
                Ok(lease) => Ok(Attempt::Acquired(Box::new(HeldLease {
                    renewed: sent,
                    ..self.held(lease)
                }))),
                Err(e) if is_status(&e, 409) => Ok(Attempt::Busy(Holder {
                    identity: "another process (it created the Lease first)".into(),
                    renewed: None,
                    duration: self.cfg.duration,
                })),
                Err(e) => Err(self.api_err("creating")(e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let theirs = Duration::from_secs(
            u64::try_from(spec.lease_duration_seconds.unwrap_or(15)).unwrap_or(15),
        );
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        // Unchanged for a whole lease duration while we watched: the holder is gone.
        let expired = match &self.observed {
            Some((seen, since)) if *seen == version => Some(since.elapsed() >= theirs),
            _ => None,
        };
        let free = match &holder {
            None => true,
            Some(h) if *h == self.cfg.holder => true,
            Some(_) => expired.unwrap_or_else(|| {
                self.observed = Some((version, Instant::now()));
                false
            }),
        };
        if !free {
            return Ok(Attempt::Busy(Holder {
                identity: holder.unwrap_or_default(),
                renewed: spec.renew_time.map(|t| t.0.to_string()),
                duration: theirs,
            }));
        }
        let taken_over = holder.as_deref() != Some(self.cfg.holder.as_str());
        lease.spec = Some(LeaseSpec {
            holder_identity: Some(self.cfg.holder.clone()),
            lease_duration_seconds: Some(self.cfg.duration_seconds()),
            acquire_time: if taken_over {
                Some(now())
            } else {
                spec.acquire_time.clone()
            },
            renew_time: Some(now()),
            lease_transitions: Some(
                spec.lease_transitions.unwrap_or(0) + i32::from(taken_over && holder.is_some()),
            ),
            ..spec
        });
        // The resourceVersion in `lease` makes this a compare-and-swap: a 409 means someone
        // else wrote first.
        match self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            Ok(lease) => {
                self.observed = None;
                Ok(Attempt::Acquired(Box::new(HeldLease {
                    renewed: sent,
                    ..self.held(lease)
                })))
            }
            Err(e) if is_status(&e, 409) => Ok(Attempt::Busy(Holder {
                identity: "another process (it wrote the Lease first)".into(),
                renewed: None,
                duration: theirs,
            })),
            Err(e) => Err(self.api_err("taking")(e)),
        }
    }

    /// Tries until the lock is ours or `timeout` passed (`None`: forever). `waiting` is told
    /// about each holder met, once per holder, so a person sees why nothing happens.
    ///
    /// # Errors
    /// [`LeaseError::Timeout`] with the holder; API errors.
    pub async fn acquire(
        &mut self,
        timeout: Option<Duration>,
        mut waiting: impl FnMut(&Holder),
    ) -> Result<HeldLease, LeaseError> {
        let started = Instant::now();
        let mut told: Option<String> = None;
        loop {
            let holder = match self.try_acquire().await? {
                Attempt::Acquired(held) => return Ok(*held),
                Attempt::Busy(h) => h,
            };
            let waited = started.elapsed();
            if timeout.is_some_and(|t| waited >= t) {
                return Err(LeaseError::Timeout {
                    lease: self.cfg.describe(),
                    holder: holder.identity,
                    waited,
                });
            }
            if told.as_deref() != Some(holder.identity.as_str()) {
                waiting(&holder);
                told = Some(holder.identity.clone());
            }
            let mut pause = self.cfg.retry;
            if let Some(t) = timeout {
                pause = pause
                    .min(t.saturating_sub(waited))
                    .max(Duration::from_millis(10));
            }
            tokio::time::sleep(pause).await;
        }
    }
}

impl HeldLease {
    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    /// The Lease as last written.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Time since the last successful write of the lock.
    pub fn since_renewed(&self) -> Duration {
        self.renewed.elapsed()
    }

    /// Changes `leaseDurationSeconds` from the next renewal on.
    pub fn set_duration(&mut self, duration: Duration) {
        self.cfg.duration = duration;
        let seconds = self.cfg.duration_seconds();
        if let Some(spec) = self.lease.spec.as_mut() {
            spec.lease_duration_seconds = Some(seconds);
        }
    }

    /// How often to renew: a third of the duration, so two renewals may fail before it lapses.
    pub fn renew_every(&self) -> Duration {
        self.cfg.duration / 3
    }

    fn lost(&self, reason: String) -> LeaseError {
        LeaseError::Lost {
            lease: self.cfg.describe(),
            reason,
        }
    }

    /// Writes a new `renewTime`. A failed write is retried until the lease would lapse;
    /// someone else holding it by then is [`LeaseError::Lost`].
    ///
    /// # Errors
    /// [`LeaseError::Lost`].
    pub async fn renew(&mut self) -> Result<(), LeaseError> {
        loop {
            let sent = Instant::now();
            let mut next = self.lease.clone();
            if let Some(spec) = next.spec.as_mut() {
                spec.renew_time = Some(now());
            }
            let err = match self
                .api
                .replace(&self.cfg.name, &PostParams::default(), &next)
                .await
            {
                Ok(lease) => {
                    self.lease = lease;
                    self.renewed = sent;
                    return Ok(());
                }
                Err(e) => e,
            };
            if is_status(&err, 409) || is_status(&err, 404) {
                // Written or deleted by someone else: ours only if it still names us.
                match self.api.get_opt(&self.cfg.name).await {
                    Ok(Some(l)) if holder_of(&l) == Some(self.cfg.holder.as_str()) => {
                        self.lease = l;
                        continue;
                    }
                    Ok(Some(l)) => {
                        return Err(self.lost(format!(
                            "it is now held by {}",
                            holder_of(&l).unwrap_or("nobody")
                        )))
                    }
                    Ok(None) => return Err(self.lost("it was deleted".into())),
                    Err(_) => {}
                }
            }
            // Keep a margin of one retry before the lease lapses in the others' eyes.
            if self.renewed.elapsed() + self.cfg.retry >= self.cfg.duration {
                return Err(self.lost(format!("it could not be renewed in time: {err}")));
            }
            tokio::time::sleep(self.cfg.retry.min(self.renew_every())).await;
        }
    }

    /// Gives the lock up at once (holder cleared), so a waiter need not wait for it to expire.
    /// The Lease stays, to be taken by the next holder.
    ///
    /// # Errors
    /// The API server refused; the lock then lapses after its duration.
    pub async fn release(mut self) -> Result<(), LeaseError> {
        // Twice at most: a renewal cut short when the work ended may have written a newer
        // version than the one held here.
        for _ in 0..2 {
            let mut next = self.lease.clone();
            if let Some(spec) = next.spec.as_mut() {
                spec.holder_identity = None;
                spec.renew_time = Some(now());
            }
            let err = match self
                .api
                .replace(&self.cfg.name, &PostParams::default(), &next)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let api_err = |source| LeaseError::Api {
                what: "releasing",
                lease: self.cfg.describe(),
                source,
            };
            if !is_status(&err, 409) {
                return Err(api_err(err));
            }
            match self.api.get_opt(&self.cfg.name).await.map_err(api_err)? {
                Some(l) if holder_of(&l) == Some(self.cfg.holder.as_str()) => self.lease = l,
                // Someone else's now, or gone: nothing of ours to release.
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

fn holder_of(l: &Lease) -> Option<&str> {
    l.spec.as_ref()?.holder_identity.as_deref()
}

/// Runs `work` while renewing `held` every [`HeldLease::renew_every`], both at once (a slow
/// renewal never stalls the work). When the lock is lost, `work` is dropped at its next await
/// point (stopped, not finished) and the error returned; otherwise `work`'s output and the
/// lock, still held, for the caller to release.
///
/// # Errors
/// [`LeaseError::Lost`].
pub async fn hold_while<F: Future>(
    mut held: HeldLease,
    work: F,
) -> Result<(F::Output, HeldLease), LeaseError> {
    let outcome = {
        // Ends only when the lock is lost.
        let renewing = async {
            loop {
                tokio::time::sleep(held.renew_every()).await;
                if let Err(lost) = held.renew().await {
                    return lost;
                }
            }
        };
        tokio::pin!(work);
        tokio::pin!(renewing);
        tokio::select! {
            out = &mut work => Ok(out),
            lost = &mut renewing => Err(lost),
        }
    };
    outcome.map(|out| (out, held))
}
