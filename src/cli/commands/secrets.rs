//! `ferry secrets encrypt|decrypt|edit|rotate|updatekeys`: sops-compatible files with age.
//! Plaintext goes to stdout (decrypt) or a private temporary file (edit), never elsewhere.

use crate::cli::args::{
    GlobalArgs, SecretsCommand, SecretsEncryptArgs, SecretsFileArgs, SopsFormat,
};
use crate::cli::ExitCode;
use crate::secrets::sops::metadata::Selectors;
use crate::secrets::{config, file, EncryptOptions, Format, Identities, Recipient};
use anyhow::Context;
use std::io::Write;
use std::path::Path;

pub fn run(g: &GlobalArgs, cmd: SecretsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SecretsCommand::Encrypt(a) => encrypt(a),
        SecretsCommand::Decrypt(a) => decrypt(a),
        SecretsCommand::Edit(a) => edit(g, a),
        SecretsCommand::Rotate(a) => rotate(a.file, a.in_place),
        SecretsCommand::Updatekeys(a) => updatekeys(g, a),
    }
}

fn format_of(path: &Path, f: Option<SopsFormat>) -> Format {
    match f {
        Some(SopsFormat::Yaml) => Format::Yaml,
        Some(SopsFormat::Json) => Format::Json,
        None => Format::from_path(path),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Replaces a file atomically (a sibling temporary file renamed over it), keeping its mode.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

fn identities(path: Option<&Path>) -> anyhow::Result<Identities> {
    Ok(Identities::load(path)?)
}

fn with_file(e: impl Into<anyhow::Error>, path: &Path) -> anyhow::Error {
    let e: anyhow::Error = e.into();
    anyhow::anyhow!("{}: {e:#}", path.display())
}

/// The creation rule for a file, from the nearest `.sops.yaml` above it or the working directory.
fn rule(path: &Path) -> anyhow::Result<Option<config::Rule>> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let found = config::find(dir).or_else(|| config::find(Path::new(".")));
    match found {
        Some(cfg) => Ok(config::rule_for(&cfg, path)?),
        None => Ok(None),
    }
}

fn encrypt(a: SecretsEncryptArgs) -> anyhow::Result<ExitCode> {
    let text = read(&a.file)?;
    let rule = rule(&a.file)?.unwrap_or_default();
    let recipients = if a.age.is_empty() {
        rule.recipients
    } else {
        a.age
            .iter()
            .map(|r| Recipient::parse(r))
            .collect::<Result<_, _>>()?
    };
    let flags = Selectors {
        unencrypted_suffix: a.unencrypted_suffix,
        encrypted_suffix: a.encrypted_suffix,
        unencrypted_regex: a.unencrypted_regex,
        encrypted_regex: a.encrypted_regex,
        unencrypted_comment_regex: a.unencrypted_comment_regex,
        encrypted_comment_regex: a.encrypted_comment_regex,
    };
    let selectors = if flags == Selectors::default() {
        rule.selectors
    } else {
        flags
    };
    let opts = EncryptOptions {
        recipients,
        selectors,
        mac_only_encrypted: a.mac_only_encrypted || rule.mac_only_encrypted,
        allow_empty: a.allow_empty,
    };
    let out = file::encrypt(&text, format_of(&a.file, a.format), &opts)
        .map_err(|e| with_file(e, &a.file))?;
    if a.in_place {
        write_atomically(&a.file, &out)?;
    } else {
        crate::cli::stdout::stdout().write_all(out.as_bytes())?;
    }
    Ok(ExitCode::Success)
}

fn open(a: &SecretsFileArgs) -> anyhow::Result<(String, file::Opened)> {
    let text = read(&a.file)?;
    let ids = identities(a.identity.identity.as_deref())?;
    let opened =
        file::open(&text, format_of(&a.file, a.format), &ids).map_err(|e| with_file(e, &a.file))?;
    Ok((text, opened))
}

fn decrypt(a: SecretsFileArgs) -> anyhow::Result<ExitCode> {
    let (_, opened) = open(&a)?;
    let plain = opened.plaintext();
    let mut out = crate::cli::stdout::stdout();
    out.write_all(plain.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::Success)
}

fn rotate(a: SecretsFileArgs, in_place: bool) -> anyhow::Result<ExitCode> {
    let (_, opened) = open(&a)?;
    let out = file::rotate(&opened).map_err(|e| with_file(e, &a.file))?;
    if in_place {
        write_atomically(&a.file, &out)?;
    } else {
        crate::cli::stdout::stdout().write_all(out.as_bytes())?;
    }
    Ok(ExitCode::Success)
}

fn updatekeys(g: &GlobalArgs, a: SecretsFileArgs) -> anyhow::Result<ExitCode> {
    let (text, opened) = open(&a)?;
    let rule = rule(&a.file)?.ok_or_else(|| {
        anyhow::anyhow!("{}: no .sops.yaml creation rule matches this file\nhint: add a creation rule with `path_regex` and `age`", a.file.display())
    })?;
    if rule.recipients.is_empty() {
        anyhow::bail!(
            "{}: the matching .sops.yaml creation rule has no `age` recipients",
            a.file.display()
        );
    }
    match file::update_keys(&text, &opened, &rule.recipients).map_err(|e| with_file(e, &a.file))? {
        Some(out) => {
            write_atomically(&a.file, &out)?;
            if !g.quiet {
                eprintln!(
                    "{}: data key now wrapped to {} recipient(s)",
                    a.file.display(),
                    rule.recipients.len()
                );
            }
        }
        None => {
            if !g.quiet {
                eprintln!("{}: recipients already up to date", a.file.display());
            }
        }
    }
    Ok(ExitCode::Success)
}

/// A private directory for the plaintext: in `/dev/shm` (memory) where it exists, mode 0700.
fn private_dir() -> anyhow::Result<tempfile::TempDir> {
    let mut b = tempfile::Builder::new();
    b.prefix("ferry-edit-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let shm = Path::new("/dev/shm");
    Ok(if shm.is_dir() {
        b.tempdir_in(shm).or_else(|_| b.tempdir())?
    } else {
        b.tempdir()?
    })
}

fn editor() -> Vec<String> {
    let cmd = std::env::var("SOPS_EDITOR")
        .ok()
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    cmd.split_whitespace().map(str::to_string).collect()
}

fn edit(g: &GlobalArgs, a: SecretsFileArgs) -> anyhow::Result<ExitCode> {
    let format = format_of(&a.file, a.format);
    let opened = if a.file.exists() {
        Some(open(&a)?.1)
    } else {
        None
    };
    // A new file needs recipients: know them before anything is typed.
    let new_rule = match &opened {
        Some(_) => None,
        None => {
            let rule = rule(&a.file)?.unwrap_or_default();
            if rule.recipients.is_empty() {
                anyhow::bail!(
                    "{}: no .sops.yaml creation rule with `age` recipients matches this new file\nhint: add one, or create the file with `ferry secrets encrypt --age ...`",
                    a.file.display()
                );
            }
            Some(rule)
        }
    };
    let before = match &opened {
        Some(o) => o.plaintext(),
        None => zeroize::Zeroizing::new(String::new()),
    };
    let dir = private_dir()?;
    let name = a
        .file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "secret.yaml".into());
    let tmp = dir.path().join(name);
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&tmp)?.write_all(before.as_bytes())?;
    }
    // Ctrl-C goes to the editor; ferry stays alive to remove the plaintext afterwards (the
    // directory is removed when `dir` drops, on every return below).
    let _ = ctrlc::set_handler(|| {});
    let argv = editor();
    let (after, docs) = loop {
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .arg(&tmp)
            .status();
        let after = zeroize::Zeroizing::new(std::fs::read_to_string(&tmp).unwrap_or_default());
        let status =
            status.with_context(|| format!("cannot run the editor `{}`", argv.join(" ")))?;
        if !status.success() {
            anyhow::bail!(
                "the editor exited with {status}; {} is unchanged",
                a.file.display()
            );
        }
        if *after == *before {
            if !g.quiet {
                eprintln!("{}: no changes", a.file.display());
            }
            return Ok(ExitCode::Success);
        }
        match format.parse(&after) {
            Ok(docs) => break (after, docs),
            Err(e) => {
                // As sops does: back to the editor rather than losing the changes.
                eprintln!("error: the edited text is not valid: {e}");
                eprintln!("press Enter to return to the editor, or Ctrl-D to abandon the changes");
                let mut line = String::new();
                if std::io::stdin().read_line(&mut line).unwrap_or(0) == 0 {
                    anyhow::bail!(
                        "{}: changes abandoned; the file is unchanged",
                        a.file.display()
                    );
                }
            }
        }
    };
    drop(dir);
    let out = match (opened, new_rule) {
        (Some(mut o), _) => {
            o.docs = docs;
            file::reseal(&o).map_err(|e| with_file(e, &a.file))?
        }
        (None, rule) => {
            let rule = rule.unwrap_or_default();
            let opts = EncryptOptions {
                recipients: rule.recipients,
                selectors: rule.selectors,
                mac_only_encrypted: rule.mac_only_encrypted,
                // The edited text exists nowhere else any more: written as the rule says
                // rather than lost.
                allow_empty: true,
            };
            file::encrypt(&after, format, &opts).map_err(|e| with_file(e, &a.file))?
        }
    };
    write_atomically(&a.file, &out)?;
    Ok(ExitCode::Success)
}
