//! Provisioning the guest once: a Debian kernel that ships `openvswitch.ko`, and an
//! initramfs (busybox, the modules the tests need with their dependencies, `ovs-dpctl` and
//! `ip` with their libraries, and the generated init script). Both are cached and rebuilt
//! only when the recipe (this file's version, the init script, the kernel package) changes.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{cpio, init};
use crate::deps;

/// Bump when the initramfs recipe changes in a way the inputs hashed below do not show.
const RECIPE_VERSION: u32 = 1;

/// The kernel package used when `apt-cache` cannot tell what `linux-image-amd64` depends on.
const FALLBACK_KERNEL_PACKAGE: &str = "linux-image-6.1.0-56-amd64";

/// Host programs copied into the initramfs (for the `selftest` mode), with their libraries.
const HOST_PROGRAMS: &[&str] = &["/usr/bin/ovs-dpctl", "/usr/sbin/ip"];

/// What a provisioned cache holds.
#[derive(Debug)]
pub struct Assets {
    /// The kernel image to boot: the uncompressed `vmlinux` (PVH entry, no in-guest
    /// decompression) if it could be extracted, else `vmlinuz`.
    pub kernel: PathBuf,
    /// The initramfs (an uncompressed newc cpio archive).
    pub initrd: PathBuf,
    /// A description of the kernel (package and version).
    pub description: String,
}

/// The cache folder: `$KV_CACHE`, else `$XDG_CACHE_HOME/rovs-kernel-vm`, else
/// `~/.cache/rovs-kernel-vm`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KV_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/var/tmp"));
    base.join("rovs-kernel-vm")
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn status(cmd: &mut Command) -> Result<()> {
    let st = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} failed ({st})");
    }
    Ok(())
}

/// The Debian kernel package to use: `$KV_KPKG`, else what `linux-image-amd64` depends on
/// (following Debian's current ABI, since old `-NN` packages leave the archive).
fn kernel_package() -> String {
    if let Ok(p) = std::env::var("KV_KPKG")
        && !p.is_empty()
    {
        return p;
    }
    let ask = || {
        output(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let mut w = l.split_whitespace();
                    match (w.next(), w.next()) {
                        (Some("Depends:"), Some(p)) if p.starts_with("linux-image-") => {
                            Some(p.to_owned())
                        }
                        _ => None,
                    }
                })
            })
    };
    if let Some(p) = ask() {
        return p;
    }
    if deps::is_root() {
        let _ = Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        if let Some(p) = ask() {
            return p;
        }
    }
    FALLBACK_KERNEL_PACKAGE.to_owned()
}

/// Makes sure the kernel and initramfs are in the cache, building them if needed.
///
/// Concurrent first runs are serialized with a lock file in the cache.
pub fn ensure(verbose: bool) -> Result<Assets> {
    let cache = cache_dir();
    let kpkg = kernel_package();
    let script = init::script();
    let id = format!(
        "{:016x}",
        fnv1a(&[
            &RECIPE_VERSION.to_le_bytes(),
            script.as_bytes(),
            kpkg.as_bytes(),
            init::MODULES.join(",").as_bytes(),
        ])
    );
    let assets = |cache: &Path| -> Option<Assets> {
        let id_ok = fs::read_to_string(cache.join("assets.id")).ok()? == id;
        let initrd = cache.join("initrd.cpio");
        let vmlinux = cache.join("vmlinux");
        let vmlinuz = cache.join("vmlinuz");
        if !id_ok || !initrd.is_file() || !vmlinuz.is_file() {
            return None;
        }
        let kernel = if vmlinux.is_file() && std::env::var("KV_BZIMAGE").as_deref() != Ok("1") {
            vmlinux
        } else {
            vmlinuz
        };
        Some(Assets {
            kernel,
            initrd,
            description: fs::read_to_string(cache.join("kernel.txt"))
                .unwrap_or_default()
                .trim()
                .to_owned(),
        })
    };
    if let Some(a) = assets(&cache) {
        return Ok(a);
    }
    fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let lock = File::create(cache.join(".lock"))?;
    lock.lock().context("locking the kernel VM cache")?;
    if let Some(a) = assets(&cache) {
        return Ok(a);
    }
    eprintln!(
        "xtask kernel-test: provisioning the kernel VM ({kpkg}) in {}",
        cache.display()
    );
    let t = std::time::Instant::now();
    let tmp = cache.join(format!(".build.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    let built = build(&tmp, &kpkg, &script, verbose);
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    for f in ["initrd.cpio", "vmlinuz", "vmlinux", "kernel.txt"] {
        let from = tmp.join(f);
        if from.exists() {
            fs::rename(&from, cache.join(f))?;
        } else {
            let _ = fs::remove_file(cache.join(f));
        }
    }
    fs::write(cache.join("assets.id"), &id)?;
    let _ = fs::remove_dir_all(&tmp);
    eprintln!("xtask kernel-test: provisioned in {:.1?}", t.elapsed());
    assets(&cache).context("the kernel VM cache is incomplete after provisioning")
}

fn build(tmp: &Path, kpkg: &str, script: &str, verbose: bool) -> Result<()> {
    // The kernel package (kept in the cache: the recipe changes more often than it), unpacked.
    let cache = tmp.parent().context("cache folder")?;
    let deb = cache.join(format!("{kpkg}.deb"));
    if !deb.is_file() {
        let mut dl = Command::new("apt-get");
        // The cache may not be readable by apt's sandbox user; download as the caller.
        dl.args(["-o", "APT::Sandbox::User=root", "download", kpkg])
            .current_dir(tmp);
        if !verbose {
            dl.stdout(std::process::Stdio::null());
        }
        if status(&mut dl).is_err() && deps::is_root() {
            // Stale package lists name versions the archive no longer has: refresh, retry.
            let _ = Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status();
            status(&mut dl)
                .with_context(|| format!("downloading {kpkg} (after apt-get update)"))?;
        } else if !tmp
            .read_dir()?
            .any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "deb")))
        {
            bail!("downloading {kpkg} failed (run apt-get update first?)");
        }
        let got = fs::read_dir(tmp)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .context("apt-get download left no .deb")?;
        // Old kernels' packages are not worth keeping.
        for e in fs::read_dir(cache)?.filter_map(|e| e.ok()) {
            if e.path().extension().is_some_and(|x| x == "deb") {
                let _ = fs::remove_file(e.path());
            }
        }
        fs::rename(&got, &deb)?;
    }
    let root = tmp.join("root");
    status(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let kver = fs::read_dir(root.join("lib/modules"))
        .context("the kernel package has no lib/modules")?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .next()
        .context("the kernel package has no module folder")?;
    status(Command::new("depmod").arg("-b").arg(&root).arg(&kver))?;
    let vmlinuz = root.join(format!("boot/vmlinuz-{kver}"));
    fs::copy(&vmlinuz, tmp.join("vmlinuz"))
        .with_context(|| format!("copying {}", vmlinuz.display()))?;
    if let Err(e) = extract_vmlinux(&tmp.join("vmlinuz"), &tmp.join("vmlinux")) {
        eprintln!("xtask kernel-test: booting the compressed kernel ({e:#})");
        let _ = fs::remove_file(tmp.join("vmlinux"));
    }
    fs::write(tmp.join("kernel.txt"), format!("{kpkg} {kver}\n"))?;

    // The initramfs, staged in a folder then archived.
    let st = tmp.join("stage");
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "run", "host", "kvjob",
        "etc", "var/run", "lib64",
    ] {
        fs::create_dir_all(st.join(d))?;
    }
    fs::copy("/bin/busybox", st.join("bin/busybox")).context("copying /bin/busybox")?;
    let applets = output(Command::new("/bin/busybox").arg("--list"))?;
    for a in applets.lines().map(str::trim).filter(|a| !a.is_empty()) {
        let link = st.join("bin").join(a);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", &link)?;
        }
    }
    for a in ["modprobe", "insmod"] {
        let link = st.join("sbin").join(a);
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink("../bin/busybox", &link)?;
    }
    for prog in HOST_PROGRAMS {
        if Path::new(prog).exists() {
            copy_with_libs(Path::new(prog), &st)?;
        } else {
            eprintln!("xtask kernel-test: {prog} is missing; the guest selftest will lack it");
        }
    }
    let mods = stage_modules(&root, &kver, &st)?;
    fs::write(st.join("modules.list"), mods.join("\n") + "\n")?;
    let init_path = st.join("init");
    fs::write(&init_path, script)?;
    fs::set_permissions(
        &init_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;

    let out = BufWriter::new(File::create(tmp.join("initrd.cpio"))?);
    let mut w = cpio::Writer::new(out);
    w.tree(&st)?;
    w.finish()?;
    if verbose {
        eprintln!("xtask kernel-test: initramfs with {} modules", mods.len());
    }
    Ok(())
}

/// Copies the modules the guest needs (and their dependencies, in load order) into the
/// staging folder; returns their paths in the guest, in load order.
fn stage_modules(root: &Path, kver: &str, st: &Path) -> Result<Vec<String>> {
    let moddir = root.join("lib/modules").join(kver);
    let mut order: Vec<PathBuf> = Vec::new();
    for m in init::MODULES {
        let deps = output(Command::new("modprobe").arg("-d").arg(root).args([
            "-S",
            kver,
            "--show-depends",
            m,
        ]))
        .with_context(|| format!("resolving module {m}"))?;
        for l in deps.lines() {
            let mut w = l.split_whitespace();
            if let (Some("insmod"), Some(p)) = (w.next(), w.next()) {
                let p = PathBuf::from(p);
                if !order.contains(&p) {
                    order.push(p);
                }
            }
        }
    }
    let mut list = Vec::new();
    for src in order {
        let rel = src
            .strip_prefix(&moddir)
            .with_context(|| format!("module {} outside {}", src.display(), moddir.display()))?;
        let mut dst = st.join("lib/modules").join(kver).join(rel);
        fs::create_dir_all(dst.parent().context("module path")?)?;
        let name = rel.to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".xz") {
            // busybox insmod takes plain objects.
            dst = st.join("lib/modules").join(kver).join(stem);
            let data = output_bytes(Command::new("xz").arg("-dc").arg(&src))?;
            fs::write(&dst, data)?;
        } else if let Some(stem) = name.strip_suffix(".zst") {
            dst = st.join("lib/modules").join(kver).join(stem);
            let data = output_bytes(Command::new("zstd").arg("-dc").arg(&src))?;
            fs::write(&dst, data)?;
        } else {
            fs::copy(&src, &dst)?;
        }
        let guest = dst
            .strip_prefix(st)
            .context("staged module path")?
            .to_string_lossy()
            .into_owned();
        list.push(format!("/{guest}"));
    }
    for f in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        let src = moddir.join(f);
        if src.exists() {
            fs::copy(&src, st.join("lib/modules").join(kver).join(f))?;
        }
    }
    // So that request_module() -> /sbin/modprobe works for the packed subset.
    status(Command::new("depmod").arg("-b").arg(st).arg(kver))?;
    Ok(list)
}

fn output_bytes(cmd: &mut Command) -> Result<Vec<u8>> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed ({})", out.status);
    }
    Ok(out.stdout)
}

/// Copies a dynamically linked program and the libraries `ldd` names into `st`, at the same
/// paths.
fn copy_with_libs(prog: &Path, st: &Path) -> Result<()> {
    let mut files = vec![prog.to_path_buf()];
    let ldd = output(Command::new("ldd").arg(prog))?;
    for l in ldd.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let lib = match w.as_slice() {
            [_, "=>", p, ..] if p.starts_with('/') => p,
            [p, ..] if p.starts_with('/') => p,
            _ => continue,
        };
        files.push(PathBuf::from(lib));
    }
    for f in files {
        let rel = f.strip_prefix("/").context("absolute path")?;
        let dst = st.join(rel);
        if dst.exists() {
            continue;
        }
        fs::create_dir_all(dst.parent().context("library path")?)?;
        fs::copy(&f, &dst).with_context(|| format!("copying {}", f.display()))?;
    }
    Ok(())
}

/// Extracts the ELF `vmlinux` from a bzImage whose payload is xz-compressed, so QEMU can
/// boot it through the PVH entry point and the guest skips decompressing itself (about two
/// seconds under TCG).
fn extract_vmlinux(vmlinuz: &Path, out: &Path) -> Result<()> {
    let data = fs::read(vmlinuz)?;
    let magic = [0xfd, b'7', b'z', b'X', b'Z', 0x00];
    let at = data
        .windows(magic.len())
        .position(|w| w == magic)
        .context("no xz payload in the kernel image")?;
    let payload = out.with_extension("xz");
    fs::write(&payload, &data[at..])?;
    // --single-stream: stop at the end of the first stream, ignoring what follows it.
    let elf = output_bytes(
        Command::new("xz")
            .args(["-dc", "--single-stream"])
            .arg(&payload),
    );
    let _ = fs::remove_file(&payload);
    let elf = elf?;
    if !elf.starts_with(b"\x7fELF") {
        bail!("the kernel payload is not an ELF image");
    }
    fs::write(out, elf)?;
    Ok(())
}
