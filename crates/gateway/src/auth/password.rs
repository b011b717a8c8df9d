//! User passwords: argon2id hashes (PHC strings), and [`PasswordWork`], the one door every hash and verification
//! of a request goes through (logins, registration, the admin API): argon2 takes 19 MiB and real CPU time per
//! call, so only a few run at once and the rest wait briefly, then get 503 — never a pile of blocking threads.

use crate::error::ApiError;
use argon2::password_hash::{
    Output, ParamsString, PasswordHash, Salt, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;

/// The largest argon2 memory a stored hash may ask for (256 MiB in 1 KiB blocks); anything larger fails to verify.
const MAX_BLOCKS: usize = 256 * 1024;

thread_local! {
    /// argon2's working memory, kept per thread and reused: allocating 19 MiB of 64-byte-aligned blocks per call
    /// (what `Argon2::hash_password` does) leaves every block behind in glibc's heap — about 19 MiB of resident
    /// memory more per call, measured — so each worker allocates it once.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 with `params` over this thread's reused working memory.
fn argon2_into(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let needed = params.block_count();
    if needed > MAX_BLOCKS {
        return Err(argon2::Error::MemoryTooMuch);
    }
    BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..])
    })
}

/// The PHC hash of `password` under `algorithm`/`version`/`params` and `salt` (what `Argon2::hash_password`
/// computes, over reused memory).
fn phc_hash<'a>(
    password: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Salt<'a>,
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf)?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = Output::init_with(len, |out| {
        Ok(argon2_into(&argon, &params, password, salt_bytes, out)?)
    })?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

pub fn hash(password: &str) -> Result<String, String> {
    if password.len() < 8 {
        return Err("password must be at least 8 characters".to_owned());
    }
    let salt = SaltString::generate(&mut OsRng);
    phc_hash(
        password.as_bytes(),
        Algorithm::Argon2id,
        Version::V0x13,
        Params::default(),
        salt.as_salt(),
    )
    .map(|h| h.to_string())
    .map_err(|e| format!("cannot hash password: {e}"))
}

/// Spends the time of one verification against a throwaway hash, for logins to accounts that do not exist (so
/// the answer's timing does not tell which names exist).
pub fn decoy_verify(password: &str) {
    static DECOY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash("decoy password, matches nothing").unwrap_or_default());
    let _ = verify(password, &DECOY);
}

/// Checks `password` against a stored argon2 PHC string, or a bcrypt hash (`$2a$…`, `$2b$…`) as new-api and
/// one-api store them: users imported from there log in with their old passwords.
pub fn verify(password: &str, phc: &str) -> bool {
    if phc.starts_with("$2") {
        return bcrypt::verify(password, phc).unwrap_or(false);
    }
    PasswordHash::new(phc).is_ok_and(|h| verify_argon2(password.as_bytes(), &h))
}

/// Recomputes the hash with the stored hash's own algorithm, version, parameters and salt; compares the outputs
/// in constant time (`Output`'s `==`).
fn verify_argon2(password: &[u8], stored: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, &stored.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(stored.algorithm),
        Params::try_from(stored),
    ) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    phc_hash(password, algorithm, version, params, salt)
        .is_ok_and(|computed| computed.hash.as_ref() == Some(expected))
}

/// How many hashes or verifications run at once, in the whole process: one worker thread each, holding its 19 MiB
/// of argon2 memory for life (see `BLOCKS`), so logins cost at most this many times 19 MiB however hard the page
/// is hit, and leave the other cores to the relay. One verification takes tens of milliseconds, so one worker
/// still checks dozens of logins a second; a second one measured 31–36 MiB under a 400-login flood against 14–16.
const WORKERS: usize = 1;
/// How long a request waits for a turn before it is answered 503.
const WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// How many requests may wait for a turn; the next ones are answered 503 at once, so a flood holds no more
/// requests in memory than this line (each waiting request keeps its connection and its state).
const MAX_WAITING: usize = 16;

type Job = Box<dyn FnOnce() + Send>;

/// Runs password hashing and verification on its own worker threads, a few at a time; the rest wait briefly.
pub struct PasswordWork {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    /// Requests waiting for a permit or running.
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// At most `WORKERS` jobs are ever queued or running: each carries one of the permits.
    jobs: std::sync::mpsc::Sender<Job>,
}

impl PasswordWork {
    /// Starts the worker threads; they end when this value is dropped.
    pub fn start() -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..WORKERS {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("tollgate-password-{i}"))
                .spawn(move || {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok(job) = next else { return };
                        job();
                    }
                })?;
        }
        Ok(Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(WORKERS)),
            waiting: std::sync::Arc::default(),
            jobs,
        })
    }

    /// Runs `job` on a worker once a permit is free. The permit moves into the job, so a client that hangs up
    /// does not free its turn while argon2 still runs.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _in_line = InLine::join(&self.waiting)?;
        let permit = tokio::time::timeout(WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::PasswordCheckBusy { retry_after: WAIT })?
            .map_err(|e| ApiError::Internal(format!("password permits closed: {e}")))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _permit = permit;
                let _ = tx.send(job());
            }))
            .map_err(|_| ApiError::Internal("the password workers stopped".to_owned()))?;
        rx.await
            .map_err(|_| ApiError::Internal("a password check failed".to_owned()))
    }

    /// Whether `plain` matches `hash`. A missing account (`None`) is checked against a throwaway hash, so the
    /// answer takes as long as for a wrong password.
    pub async fn verify(&self, plain: String, hash: Option<String>) -> Result<bool, ApiError> {
        self.run(move || match hash {
            Some(h) => verify(&plain, &h),
            None => {
                decoy_verify(&plain);
                false
            }
        })
        .await
    }

    /// A new hash of `plain`; the inner error is the reason the password is refused (too short).
    pub async fn hash(&self, plain: String) -> Result<Result<String, String>, ApiError> {
        self.run(move || hash(&plain)).await
    }
}

/// A place in the line for the workers; leaving (answered, refused or hung up) frees it.
struct InLine(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl InLine {
    fn join(line: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Result<Self, ApiError> {
        use std::sync::atomic::Ordering;
        if line.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING + WORKERS {
            line.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::PasswordCheckBusy { retry_after: WAIT });
        }
        Ok(Self(line.clone()))
    }
}

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bcrypt_hashes_from_new_api_verify() {
        // Go's bcrypt (cost 10) for "rootpass123", as new-api stores it.
        let hash = bcrypt::hash_with_salt("rootpass123", 4, [7; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoA);
        assert!(super::verify("rootpass123", &hash));
        assert!(!super::verify("wrong", &hash));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_verify_and_ours_verify_there() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = super::SaltString::generate(&mut super::OsRng);
        let theirs = super::Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(super::verify("correct horse", &theirs));
        assert!(!super::verify("correct horsf", &theirs));
        let ours = super::hash("correct horse").unwrap();
        let parsed = super::PasswordHash::new(&ours).unwrap();
        assert!(
            super::Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
    }

    #[test]
    fn round_trip() {
        let h = super::hash("correct horse").unwrap();
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong horse!", &h));
        assert!(super::hash("short").is_err());
    }
}
