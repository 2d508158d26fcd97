//! The artifact layer: a reproducible gzip'd tar of `out/<env>`, and the safe unpacker that
//! refuses anything a hostile registry could slip into one.
//!
//! Reproducible means: the same files give the same bytes on any machine, user, umask, time
//! zone or day. So entries are sorted by path, only regular files and directories are written,
//! owners are 0 with empty names, every mtime is 0, modes are fixed (0644 files, 0755
//! directories) and the gzip header carries no name, no time and a fixed OS byte.

use crate::untrusted::Untrusted;
use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// gzip's "unknown" OS byte, what Go's `compress/gzip` writes: the same on every platform.
const GZIP_OS_UNKNOWN: u8 = 255;
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is a {kind}; an artifact holds only regular files and directories\nhint: remove it from the build output", path.display())]
    Unsupported { path: PathBuf, kind: &'static str },
    #[error("{}: file names in an artifact must be UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("cannot write the tarball: {0}")]
    Write(#[source] io::Error),
}

/// A packed environment: the gzip'd tar and what the OCI config needs to describe it.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The layer blob (gzip'd tar).
    pub gz: Vec<u8>,
    /// `sha256:<hex>` of the uncompressed tar: the config's `rootfs.diff_ids`.
    pub tar_digest: String,
    /// Regular files in the tarball.
    pub files: usize,
    /// Directories in the tarball.
    pub dirs: usize,
}

/// One thing to put in the tarball, with its slash-separated path relative to the root.
struct Item {
    name: String,
    path: PathBuf,
    dir: bool,
}

/// Lists `root` recursively, sorted by tar path; refuses links and special files.
fn collect(root: &Path) -> Result<Vec<Item>, PackError> {
    let mut items = Vec::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            PackError::Read {
                path,
                source: e.into(),
            }
        })?;
        let ft = entry.file_type();
        let kind = if ft.is_dir() {
            true
        } else if ft.is_file() {
            false
        } else {
            let kind = if ft.is_symlink() {
                "symbolic link"
            } else {
                "special file"
            };
            return Err(PackError::Unsupported {
                path: entry.path().to_path_buf(),
                kind,
            });
        };
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths under its root");
        let mut parts = Vec::new();
        for c in rel.components() {
            let s = c.as_os_str().to_str().ok_or_else(|| PackError::NotUtf8 {
                path: entry.path().to_path_buf(),
            })?;
            parts.push(s);
        }
        let mut name = parts.join("/");
        if kind {
            name.push('/');
        }
        items.push(Item {
            name,
            path: entry.path().to_path_buf(),
            dir: kind,
        });
    }
    // Byte order of the tar path: independent of the filesystem's listing order and locale.
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(items)
}

/// A writer that hashes what passes through it: the uncompressed tar's digest comes for free.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn header(size: u64, dir: bool) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_mode(if dir { DIR_MODE } else { FILE_MODE });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    // new_gnu() leaves the owner names empty: they stay empty.
    h
}

/// Packs the directory `root` into a reproducible gzip'd tar.
///
/// # Errors
/// A file that cannot be read, a symbolic link or special file, a name that is not UTF-8.
pub fn pack_dir(root: &Path) -> Result<Packed, PackError> {
    let items = collect(root)?;
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(Vec::new(), Compression::default());
    let hashing = HashingWriter {
        inner: gz,
        hasher: Sha256::new(),
    };
    let mut builder = tar::Builder::new(hashing);
    let (mut files, mut dirs) = (0, 0);
    for item in &items {
        if item.dir {
            dirs += 1;
            builder
                .append_data(&mut header(0, true), &item.name, io::empty())
                .map_err(PackError::Write)?;
        } else {
            files += 1;
            let data = std::fs::read(&item.path).map_err(|source| PackError::Read {
                path: item.path.clone(),
                source,
            })?;
            builder
                .append_data(
                    &mut header(data.len() as u64, false),
                    &item.name,
                    data.as_slice(),
                )
                .map_err(PackError::Write)?;
        }
    }
    let hashing = builder.into_inner().map_err(PackError::Write)?;
    let tar_digest = format!("sha256:{}", hex::encode(hashing.hasher.finalize()));
    let gz = hashing.inner.finish().map_err(PackError::Write)?;
    Ok(Packed {
        gz,
        tar_digest,
        files,
        dirs,
    })
}

/// How much an unpacked artifact may hold. The defaults are far above any real environment
/// and far below what would fill a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Entries (files and directories).
    pub max_entries: usize,
    /// Bytes in one file.
    pub max_file_size: u64,
    /// Bytes in all files together.
    pub max_total_size: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_entries: 200_000,
            max_file_size: 64 << 20,
            max_total_size: 2 << 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("{} already exists and is not an empty directory\nhint: pull into a new directory", dir.display())]
    DestinationNotEmpty { dir: PathBuf },
    #[error("{} is a file, not a directory\nhint: pull into a new directory", dir.display())]
    NotADirectory { dir: PathBuf },
    #[error("{} is a symbolic link to {}, which is not a directory\nhint: pull into a new directory", link.display(), target.display())]
    LinkNotToDirectory { link: PathBuf, target: PathBuf },
    #[error("{} is a symbolic link to a directory that cannot be reached: {source}\nhint: create the directory it points to, or pull into a new directory", link.display())]
    DanglingLink {
        link: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the artifact holds an entry with an absolute path: {}",
        Untrusted(path)
    )]
    AbsolutePath { path: String },
    #[error(
        "the artifact holds an entry that climbs out of its directory: {}",
        Untrusted(path)
    )]
    ParentDir { path: String },
    #[error(
        "the artifact holds an entry with an unusable path: \"{}\"",
        Untrusted(path)
    )]
    BadPath { path: String },
    #[error(
        "the artifact holds a {kind} ({}); only regular files and directories are accepted",
        Untrusted(path)
    )]
    Unsupported { path: String, kind: String },
    #[error("the artifact holds {} twice", Untrusted(path))]
    Duplicate { path: String },
    #[error("the artifact holds more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error(
        "{} in the artifact is larger than the limit of {limit} bytes",
        Untrusted(path)
    )]
    FileTooLarge { path: String, limit: u64 },
    #[error("the artifact unpacks to more than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    // The tar reader's message can quote the header bytes it choked on: escaped, and not
    // chained as a source, so the raw text is never printed.
    #[error("the artifact is not a valid gzip'd tar: {}", Untrusted(&.0.to_string()))]
    Corrupt(io::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What an unpack wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: usize,
    pub dirs: usize,
    pub bytes: u64,
}

/// Checks a tar path and returns its normal form (`a/b`, no `./`, no trailing slash); `None`
/// for the root itself (`./`).
fn clean_path(raw: &[u8]) -> Result<Option<String>, UnpackError> {
    let text = std::str::from_utf8(raw).map_err(|_| UnpackError::BadPath {
        path: String::from_utf8_lossy(raw).into_owned(),
    })?;
    let path = text.to_string();
    if text.starts_with('/') {
        return Err(UnpackError::AbsolutePath { path });
    }
    // A backslash is a separator on Windows: refuse it rather than guess.
    if text.contains('\\') || text.contains('\0') {
        return Err(UnpackError::BadPath { path });
    }
    let mut parts = Vec::new();
    for c in Path::new(text).components() {
        match c {
            Component::Normal(s) => parts.push(
                s.to_str()
                    .ok_or_else(|| UnpackError::BadPath { path: path.clone() })?,
            ),
            Component::CurDir => {}
            Component::ParentDir => return Err(UnpackError::ParentDir { path }),
            Component::RootDir | Component::Prefix(_) => {
                return Err(UnpackError::AbsolutePath { path })
            }
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Unpacks every entry into `root`, an empty directory nobody else writes to.
fn unpack_into(gz: impl Read, root: &Path, limits: &UnpackLimits) -> Result<Unpacked, UnpackError> {
    let mut archive = tar::Archive::new(GzDecoder::new(gz));
    let mut seen = HashSet::new();
    let mut done = Unpacked::default();
    let mut count = 0usize;
    for entry in archive.entries().map_err(UnpackError::Corrupt)? {
        let mut entry = entry.map_err(UnpackError::Corrupt)?;
        count += 1;
        if count > limits.max_entries {
            return Err(UnpackError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let raw = entry.path_bytes().into_owned();
        let Some(name) = clean_path(&raw)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        let dir = match kind {
            tar::EntryType::Regular => false,
            tar::EntryType::Directory => true,
            other => {
                let kind = match other {
                    tar::EntryType::Symlink => "symbolic link".to_string(),
                    tar::EntryType::Link => "hard link".to_string(),
                    tar::EntryType::Char | tar::EntryType::Block => "device file".to_string(),
                    tar::EntryType::Fifo => "named pipe".to_string(),
                    o => format!("tar entry of type {:?}", o.as_byte() as char),
                };
                return Err(UnpackError::Unsupported { path: name, kind });
            }
        };
        if !seen.insert(name.clone()) {
            return Err(UnpackError::Duplicate { path: name });
        }
        let target = root.join(&name);
        if dir {
            std::fs::create_dir_all(&target).map_err(write_err(&target))?;
            done.dirs += 1;
            continue;
        }
        let size = entry.header().size().map_err(UnpackError::Corrupt)?;
        if size > limits.max_file_size {
            return Err(UnpackError::FileTooLarge {
                path: name,
                limit: limits.max_file_size,
            });
        }
        if done.bytes + size > limits.max_total_size {
            return Err(UnpackError::TooLarge {
                limit: limits.max_total_size,
            });
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        }
        // create_new: a second entry for the same file (by any spelling) can never overwrite.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    UnpackError::Duplicate { path: name.clone() }
                } else {
                    UnpackError::Write {
                        path: target.clone(),
                        source: e,
                    }
                }
            })?;
        // Never trust the header's size for how much to write: copy at most the limit plus one.
        let written = io::copy(&mut (&mut entry).take(limits.max_file_size + 1), &mut file)
            .map_err(UnpackError::Corrupt)?;
        if written > limits.max_file_size {
            return Err(UnpackError::FileTooLarge {
                path: name,
                limit: limits.max_file_size,
            });
        }
        done.bytes += written;
        done.files += 1;
    }
    Ok(done)
}

/// Unpacks a gzip'd tar into `dest`, which must not exist or be an empty directory.
///
/// Everything is first unpacked into a fresh sibling directory; only when every entry passed
/// every check is it renamed to `dest`. On any error nothing is left at `dest`.
/// Files get mode 0644 and directories 0755, whatever the tar says.
///
/// # Errors
/// Absolute paths, `..`, links, device files, duplicate entries, limits exceeded, a corrupt
/// stream, or a destination that is not empty.
pub fn unpack(gz: impl Read, dest: &Path, limits: &UnpackLimits) -> Result<Unpacked, UnpackError> {
    let resolved = destination(dest)?;
    let dest = resolved.as_path();
    let existed = match std::fs::read_dir(dest) {
        Ok(mut it) => {
            if it.next().is_some() {
                return Err(UnpackError::DestinationNotEmpty {
                    dir: dest.to_path_buf(),
                });
            }
            true
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(_) => {
            return Err(UnpackError::DestinationNotEmpty {
                dir: dest.to_path_buf(),
            })
        }
    };
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(write_err(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".ferry-unpack-")
        .tempdir_in(&parent)
        .map_err(write_err(&parent))?;
    let done = unpack_into(gz, staging.path(), limits)?;
    set_modes(staging.path())?;
    if existed {
        std::fs::remove_dir(dest).map_err(write_err(dest))?;
    }
    let kept = staging.keep();
    std::fs::rename(&kept, dest).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        UnpackError::Write {
            path: dest.to_path_buf(),
            source: e,
        }
    })?;
    Ok(done)
}

/// Where to unpack: `dest` itself, or, when it is a symbolic link, the directory it points
/// to (the link stays; the directory behind it is filled, as `mkdir -p` and `cp -r` would).
fn destination(dest: &Path) -> Result<PathBuf, UnpackError> {
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(dest) {
            Ok(target) if target.is_dir() => Ok(target),
            Ok(target) => Err(UnpackError::LinkNotToDirectory {
                link: dest.to_path_buf(),
                target,
            }),
            Err(source) => Err(UnpackError::DanglingLink {
                link: dest.to_path_buf(),
                source,
            }),
        },
        Ok(m) if !m.is_dir() => Err(UnpackError::NotADirectory {
            dir: dest.to_path_buf(),
        }),
        _ => Ok(dest.to_path_buf()),
    }
}

/// Fixed modes on everything unpacked: the umask and the tar's mode bits decide nothing.
#[cfg(unix)]
fn set_modes(root: &Path) -> Result<(), UnpackError> {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.map_err(|e| UnpackError::Write {
            path: root.to_path_buf(),
            source: e.into(),
        })?;
        let mode = if entry.file_type().is_dir() {
            DIR_MODE
        } else {
            FILE_MODE
        };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))
            .map_err(write_err(entry.path()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_modes(_root: &Path) -> Result<(), UnpackError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, body) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, body).expect("write");
        }
        dir
    }

    /// name, mode, uid, gid, mtime, user name, group name.
    type Listed = (String, u32, u64, u64, u64, Vec<u8>, Vec<u8>);

    fn list(gz: &[u8]) -> Vec<Listed> {
        let mut a = tar::Archive::new(GzDecoder::new(gz));
        a.entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let h = e.header();
                (
                    e.path().expect("path").to_string_lossy().into_owned(),
                    h.mode().expect("mode"),
                    h.uid().expect("uid"),
                    h.gid().expect("gid"),
                    h.mtime().expect("mtime"),
                    h.username_bytes().unwrap_or_default().to_vec(),
                    h.groupname_bytes().unwrap_or_default().to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn pack_is_sorted_with_fixed_metadata() {
        let dir = tree(&[
            ("b/x.yaml", "x"),
            ("a.yaml", "a"),
            ("b-c/y.yaml", "y"),
            ("index.json", "{}"),
        ]);
        let p = pack_dir(dir.path()).expect("pack");
        let entries = list(&p.gz);
        let names: Vec<_> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "a.yaml",
                "b-c/",
                "b-c/y.yaml",
                "b/",
                "b/x.yaml",
                "index.json"
            ]
        );
        for (name, mode, uid, gid, mtime, user, group) in &entries {
            let want = if name.ends_with('/') { 0o755 } else { 0o644 };
            assert_eq!((*mode, *uid, *gid, *mtime), (want, 0, 0, 0), "{name}");
            assert!(user.is_empty() && group.is_empty(), "{name}");
        }
        assert_eq!((p.files, p.dirs), (4, 2));
        // gzip header: magic, deflate, no flags (no name), mtime 0, OS 255.
        assert_eq!(&p.gz[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&p.gz[4..8], &[0, 0, 0, 0]);
        assert_eq!(p.gz[9], 255);
        // The uncompressed digest is the digest of the tar stream.
        let mut tar = Vec::new();
        GzDecoder::new(p.gz.as_slice())
            .read_to_end(&mut tar)
            .expect("gunzip");
        assert_eq!(
            p.tar_digest,
            format!("sha256:{}", hex::encode(Sha256::digest(&tar)))
        );
    }

    /// Pins the bytes: a change of tar layout or of the deflate backend (flate2 switching from
    /// miniz_oxide to zlib-ng through some other crate's feature) would change every digest.
    #[test]
    fn golden_digest_of_a_fixed_tree() {
        let dir = tree(&[
            ("app/deploy.yaml", "kind: Deployment\n"),
            ("index.json", "{}\n"),
        ]);
        let p = pack_dir(dir.path()).expect("pack");
        assert_eq!(
            (
                crate::artifact::oci_json::digest_of(&p.gz).as_str(),
                p.tar_digest.as_str()
            ),
            (
                "sha256:a80e663347538cbd7ebb6d5bdb0ac9fd3f2313fe95e042678a69d9a4e7ba1b1d",
                "sha256:603d243b8e1761a5695a44ed4ddbbcfa882444dff5d048dd26015f92d3ff032f"
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn same_content_same_bytes_whatever_the_modes_and_times() {
        use std::os::unix::fs::PermissionsExt;
        let files = [
            ("app/deploy.yaml", "kind: Deployment\n"),
            ("index.json", "{}\n"),
            ("z/a/b.yaml", "b\n"),
        ];
        let one = tree(&files);
        let two = tree(&files);
        std::fs::set_permissions(
            two.path().join("index.json"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
        std::fs::set_permissions(two.path().join("z"), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let f = std::fs::File::options()
            .write(true)
            .open(two.path().join("app/deploy.yaml"))
            .expect("open");
        f.set_modified(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000),
        )
        .expect("mtime");
        assert_eq!(
            pack_dir(one.path()).expect("pack").gz,
            pack_dir(two.path()).expect("pack").gz
        );
    }

    #[cfg(unix)]
    #[test]
    fn pack_refuses_symlinks() {
        let dir = tree(&[("a.yaml", "a")]);
        std::os::unix::fs::symlink("a.yaml", dir.path().join("link.yaml")).expect("symlink");
        let err = pack_dir(dir.path()).expect_err("symlink");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn long_paths_round_trip() {
        let long = format!("{}/{}.yaml", "d".repeat(120), "f".repeat(150));
        let dir = tree(&[(long.as_str(), "long")]);
        let p = pack_dir(dir.path()).expect("pack");
        let out = tempfile::tempdir().expect("tempdir");
        let dest = out.path().join("x");
        unpack(p.gz.as_slice(), &dest, &UnpackLimits::default()).expect("unpack");
        assert_eq!(
            std::fs::read_to_string(dest.join(&long)).expect("read"),
            "long"
        );
    }

    #[cfg(unix)]
    #[test]
    fn round_trip_gives_the_same_tree_with_fixed_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tree(&[("a/b.yaml", "b"), ("index.json", "{}")]);
        let p = pack_dir(dir.path()).expect("pack");
        let out = tempfile::tempdir().expect("tempdir");
        let dest = out.path().join("env");
        let done = unpack(p.gz.as_slice(), &dest, &UnpackLimits::default()).expect("unpack");
        assert_eq!(
            done,
            Unpacked {
                files: 2,
                dirs: 1,
                bytes: 3
            }
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("a/b.yaml")).expect("read"),
            "b"
        );
        let mode = std::fs::metadata(dest.join("index.json"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644);
        // Nothing but the destination is left beside it.
        let names: Vec<_> = std::fs::read_dir(out.path())
            .expect("ls")
            .map(|e| e.expect("e").file_name())
            .collect();
        assert_eq!(names, ["env"]);
    }

    /// A raw tar entry, written without the `tar` crate's path checks (it refuses `..`).
    fn raw_entry(out: &mut Vec<u8>, name: &str, kind: u8, body: &[u8], link: &str) {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    /// name, type byte, body, link target.
    type RawEntry<'a> = (&'a str, u8, &'a [u8], &'a str);

    fn gz_of(entries: &[RawEntry]) -> Vec<u8> {
        let mut tar = Vec::new();
        for (name, kind, body, link) in entries {
            raw_entry(&mut tar, name, *kind, body, link);
        }
        tar.extend_from_slice(&[0u8; 1024]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&tar).expect("gzip");
        gz.finish().expect("gzip")
    }

    fn refused(entries: &[(&str, u8, &[u8], &str)], limits: UnpackLimits) -> String {
        let out = tempfile::tempdir().expect("tempdir");
        let dest = out.path().join("dest");
        let err = unpack(gz_of(entries).as_slice(), &dest, &limits).expect_err("must be refused");
        assert!(
            !dest.exists(),
            "nothing may be left at the destination: {err}"
        );
        assert_eq!(
            std::fs::read_dir(out.path()).expect("ls").count(),
            0,
            "no staging left behind: {err}"
        );
        err.to_string()
    }

    #[test]
    fn malicious_tarballs_are_refused_and_leave_nothing() {
        let d = UnpackLimits::default();
        let ok: (&str, u8, &[u8], &str) = ("ok.yaml", b'0', b"fine", "");
        let cases: Vec<(Vec<RawEntry>, &str)> = vec![
            (vec![ok, ("/etc/passwd", b'0', b"x", "")], "absolute path"),
            (vec![ok, ("../escape.yaml", b'0', b"x", "")], "climbs out"),
            (
                vec![ok, ("a/../../escape.yaml", b'0', b"x", "")],
                "climbs out",
            ),
            (
                vec![ok, ("link", b'2', b"", "/etc/passwd")],
                "symbolic link",
            ),
            (vec![ok, ("hard", b'1', b"", "ok.yaml")], "hard link"),
            (vec![ok, ("dev", b'3', b"", "")], "device file"),
            (vec![ok, ("blk", b'4', b"", "")], "device file"),
            (vec![ok, ("fifo", b'6', b"", "")], "named pipe"),
            (vec![ok, ("ok.yaml", b'0', b"again", "")], "twice"),
            (vec![ok, ("./ok.yaml", b'0', b"again", "")], "twice"),
            (vec![ok, ("a\\..\\b", b'0', b"x", "")], "unusable path"),
        ];
        for (entries, want) in cases {
            let err = refused(&entries, d);
            assert!(err.contains(want), "{entries:?}: {err}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let big = vec![b'x'; 2048];
        let err = refused(
            &[("big", b'0', &big, "")],
            UnpackLimits {
                max_file_size: 1024,
                ..Default::default()
            },
        );
        assert!(err.contains("larger than the limit"), "{err}");
        let err = refused(
            &[("a", b'0', &big, ""), ("b", b'0', &big, "")],
            UnpackLimits {
                max_total_size: 3000,
                ..Default::default()
            },
        );
        assert!(err.contains("more than the limit"), "{err}");
        let err = refused(
            &[
                ("a", b'0', b"1", ""),
                ("b", b'0', b"2", ""),
                ("c", b'0', b"3", ""),
            ],
            UnpackLimits {
                max_entries: 2,
                ..Default::default()
            },
        );
        assert!(err.contains("more than 2 entries"), "{err}");
    }

    #[test]
    fn corrupt_stream_is_refused() {
        let mut gz = gz_of(&[("a", b'0', b"hello", "")]);
        let n = gz.len();
        gz[n / 2] ^= 0xff;
        let out = tempfile::tempdir().expect("tempdir");
        let dest = out.path().join("dest");
        assert!(unpack(gz.as_slice(), &dest, &UnpackLimits::default()).is_err());
        assert!(!dest.exists());
    }

    #[test]
    fn destination_must_be_empty_and_is_left_alone() {
        let out = tempfile::tempdir().expect("tempdir");
        std::fs::write(out.path().join("keep"), "mine").expect("write");
        let gz = gz_of(&[("a", b'0', b"1", "")]);
        let err =
            unpack(gz.as_slice(), out.path(), &UnpackLimits::default()).expect_err("not empty");
        assert!(matches!(err, UnpackError::DestinationNotEmpty { .. }));
        assert_eq!(
            std::fs::read_to_string(out.path().join("keep")).expect("read"),
            "mine"
        );
        // An existing empty directory is fine.
        let empty = out.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        unpack(gz.as_slice(), &empty, &UnpackLimits::default()).expect("unpack into empty dir");
        assert_eq!(std::fs::read_to_string(empty.join("a")).expect("read"), "1");
    }

    #[test]
    fn a_symlink_to_an_empty_directory_is_filled_through_the_link() {
        let out = tempfile::tempdir().expect("tempdir");
        let target = out.path().join("target");
        std::fs::create_dir(&target).expect("mkdir");
        let link = out.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let gz = gz_of(&[("a", b'0', b"1", "")]);
        unpack(gz.as_slice(), &link, &UnpackLimits::default()).expect("unpacks through the link");
        assert!(std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read_to_string(target.join("a")).expect("read"),
            "1"
        );
        // A link to a file, a dangling link and a file are refused by name, and kept.
        let file = out.path().join("file");
        std::fs::write(&file, "mine").expect("write");
        let to_file = out.path().join("to-file");
        std::os::unix::fs::symlink(&file, &to_file).expect("symlink");
        let dangling = out.path().join("dangling");
        std::os::unix::fs::symlink(out.path().join("nowhere"), &dangling).expect("symlink");
        for (dest, want) in [
            (&to_file, "which is not a directory"),
            (&dangling, "cannot be reached"),
            (&file, "is a file, not a directory"),
        ] {
            let err = unpack(gz.as_slice(), dest, &UnpackLimits::default())
                .expect_err("refused")
                .to_string();
            assert!(err.contains(want), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "mine");
    }

    #[test]
    fn entry_names_and_reader_messages_are_escaped_in_errors() {
        let err = refused(
            &[("/\x1b]0;owned\x07\x1b[2J", b'0', b"x", "")],
            UnpackLimits::default(),
        );
        assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
        assert!(err.contains("\\x1b]0;owned\\x07"), "{err}");
        let err = refused(
            &[("a\u{202e}lmy.exe", b'2', b"", "x")],
            UnpackLimits::default(),
        );
        assert!(err.contains("a\\u{202e}lmy.exe"), "{err}");
        // gzip of random bytes: the tar reader quotes the header it could not read.
        let mut noise = vec![0u8; 4096];
        let mut x = 0x2545_f491_u32;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&noise).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let out = tempfile::tempdir().expect("tempdir");
        let err = unpack(
            gz.as_slice(),
            &out.path().join("d"),
            &UnpackLimits::default(),
        )
        .expect_err("refused")
        .to_string();
        assert!(err.contains("not a valid gzip'd tar"), "{err}");
        assert!(
            !err.chars().any(|c| c.is_control() && c != '\n'),
            "raw control characters in {err:?}"
        );
    }

    #[test]
    fn tar_made_by_other_tools_with_dot_prefix_unpacks() {
        let gz = gz_of(&[
            ("./", b'5', b"", ""),
            ("./a/", b'5', b"", ""),
            ("./a/b.yaml", b'0', b"b", ""),
        ]);
        let out = tempfile::tempdir().expect("tempdir");
        let dest = out.path().join("d");
        let done = unpack(gz.as_slice(), &dest, &UnpackLimits::default()).expect("unpack");
        assert_eq!((done.files, done.dirs), (1, 1));
        assert_eq!(
            std::fs::read_to_string(dest.join("a/b.yaml")).expect("read"),
            "b"
        );
    }
}
