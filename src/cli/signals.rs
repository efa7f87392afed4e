//! Ctrl-C and SIGTERM during training: the first asks the run to stop after the step in progress
//! (it then saves and says how to resume); a second one ends the process at once.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static PENDING: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// Installs the handlers (once; later calls do nothing). After this, [`pending`] reports the
/// first SIGINT or SIGTERM, and a second one exits with 128 + its number.
pub fn install() -> std::io::Result<()> {
    if PENDING.get().is_some() {
        return Ok(());
    }
    let which = Arc::new(AtomicUsize::new(0));
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::flag;
        use std::sync::atomic::AtomicBool;
        let armed = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            // The shutdown must be registered first: it looks at the flag before it is set.
            flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&armed))?;
            flag::register(sig, Arc::clone(&armed))?;
            flag::register_usize(sig, Arc::clone(&which), sig as usize)?;
        }
    }
    let _ = PENDING.set(which);
    Ok(())
}

/// The signal that asked the run to stop, if one did.
pub fn pending() -> Option<i32> {
    let s = PENDING.get()?.load(Ordering::Relaxed);
    (s != 0).then_some(s as i32)
}

/// The conventional exit status after `signal` (128 + its number: 130 for SIGINT, 143 for
/// SIGTERM).
pub fn exit_status(signal: i32) -> u8 {
    (128 + signal).clamp(0, 255) as u8
}

/// The signal's name.
pub fn name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT (Ctrl-C)",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
