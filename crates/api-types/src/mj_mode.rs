//! The closed set of Midjourney speed modes: what a channel serves (`channels.modes`), what a task was bought in
//! (`mj_tasks.mode`), the route prefixes `/mj-fast`, `/mj-relax`, `/mj-turbo` and a client's
//! `accountFilter.modes`.

use serde::{Deserialize, Serialize};

/// A Midjourney speed. Stored, configured and answered as the lowercase text of [`MjMode::as_str`]; midjourney-proxy
/// spells it in capitals ([`MjMode::wire_name`]), which serde also reads (a configuration file or a row written
/// before the type existed may hold it). [`FromStr`](std::str::FromStr) ignores case and surrounding spaces and
/// names the accepted values when it refuses one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MjMode {
    #[serde(alias = "FAST")]
    Fast,
    #[serde(alias = "RELAX")]
    Relax,
    #[serde(alias = "TURBO")]
    Turbo,
}

text_enum!(MjMode, "Midjourney mode", "some", normalize = |s| s.trim().to_ascii_lowercase(), {
    Fast => "fast",
    Relax => "relax",
    Turbo => "turbo",
});

impl MjMode {
    /// The mode as midjourney-proxy spells it in `accountFilter.modes`.
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Fast => "FAST",
            Self::Relax => "RELAX",
            Self::Turbo => "TURBO",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MjMode;

    #[test]
    fn text_serde_and_parse_agree() {
        crate::assert_text_round_trip(&MjMode::ALL, MjMode::as_str);
        for mode in MjMode::ALL {
            assert_eq!(mode.wire_name().parse::<MjMode>(), Ok(mode));
        }
        assert_eq!(
            serde_json::from_str::<MjMode>("\"FAST\"").unwrap(),
            MjMode::Fast
        );
        assert!(serde_json::from_str::<MjMode>("\"warp\"").is_err());
        assert_eq!(
            "warp".parse::<MjMode>().unwrap_err(),
            "unknown Midjourney mode `warp`; expected some of fast, relax, turbo"
        );
    }
}
