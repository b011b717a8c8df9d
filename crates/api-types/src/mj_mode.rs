//! The closed set of Midjourney speed modes: what a channel serves (`channels.modes`), what a task was bought in
//! (`mj_tasks.mode`), the route prefixes `/mj-fast`, `/mj-relax`, `/mj-turbo` and a client's
//! `accountFilter.modes`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Midjourney speed. Stored, configured and answered as the lowercase text of [`MjMode::as_str`]; midjourney-proxy
/// spells it in capitals ([`MjMode::wire_name`]), which serde also reads (a configuration file or a row written
/// before the type existed may hold it). [`FromStr`] ignores case and surrounding spaces and names the accepted
/// values when it refuses one.
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

impl MjMode {
    pub const ALL: [MjMode; 3] = [Self::Fast, Self::Relax, Self::Turbo];

    /// The text stored, configured and answered for this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Relax => "relax",
            Self::Turbo => "turbo",
        }
    }

    /// The mode as midjourney-proxy spells it in `accountFilter.modes`.
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Fast => "FAST",
            Self::Relax => "RELAX",
            Self::Turbo => "TURBO",
        }
    }
}

impl fmt::Display for MjMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MjMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown Midjourney mode `{s}`; expected some of fast, relax, turbo")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::MjMode;

    #[test]
    fn text_serde_and_parse_agree() {
        for mode in MjMode::ALL {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<MjMode>(&json).unwrap(), mode);
            assert_eq!(mode.as_str().parse::<MjMode>(), Ok(mode));
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
