//! Demo mode's upstream: the Bedrock emulator (crate `bedrock-emulator`), started in-process.
//!
//! The one place the gateway reaches the emulator crate, and only with the `emulator` feature (on
//! by default, so `cargo run` serves a demo; the container image builds without it). In a build
//! without it, `config` refuses `CHATRIX_BEDROCK=emulator` and `auto` can only mean AWS, so such a
//! build never serves canned answers. Everything else about the demo (loopback only, the demo key,
//! `x-chatrix-upstream: emulator`) works the same whichever URL the emulator has, and lives where
//! it belongs: `config`, `auth`, `routes`.

/// Whether this build links the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmulatorBuild {
    /// Built with the `emulator` feature (the default).
    Linked,
    /// Built without it (`--no-default-features`, as the container image is).
    Absent,
}

impl EmulatorBuild {
    /// This binary's build.
    pub const THIS: Self = if cfg!(feature = "emulator") {
        Self::Linked
    } else {
        Self::Absent
    };
}

/// Why `CHATRIX_BEDROCK=emulator` cannot start in a build without the emulator.
pub const NOT_LINKED: &str = "this build has no Bedrock emulator (it was built without the \
                              `emulator` feature, as the container image is); set aws or auto, or \
                              build with default features for the demo";

/// Starts the emulator on a free 127.0.0.1 port and returns its base URL.
///
/// # Errors
/// When the port cannot be bound; in a build without the emulator, always (start-up
/// configuration refuses that mode before this is called).
pub async fn spawn_emulator() -> anyhow::Result<String> {
    #[cfg(feature = "emulator")]
    {
        bedrock_emulator::Emulator::new()?.spawn(0).await
    }
    #[cfg(not(feature = "emulator"))]
    {
        anyhow::bail!(NOT_LINKED)
    }
}
