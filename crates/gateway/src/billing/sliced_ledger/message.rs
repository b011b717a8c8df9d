//! What instances tell each other about slices on the ledger feed, as text: `want user 7`, `gave key 9 1200`.

use store::SliceAccount;

/// What instances tell each other on the ledger feed: `want user 7` (give your surplus of user 7's balance
/// back), `gave key 9 1200` (gave 1200 of key 9's cap back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Message {
    Want(SliceAccount),
    Gave(SliceAccount, i64),
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let account = |a: &SliceAccount| match *a {
            SliceAccount::User(id) => format!("user {id}"),
            SliceAccount::Key(id) => format!("key {id}"),
        };
        match self {
            Self::Want(a) => write!(f, "want {}", account(a)),
            Self::Gave(a, amount) => write!(f, "gave {} {amount}", account(a)),
        }
    }
}

impl std::str::FromStr for Message {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let mut words = s.split_whitespace();
        let (verb, kind, id) = (words.next(), words.next(), words.next());
        let id: i64 = id.ok_or(())?.parse().map_err(drop)?;
        let account = match kind {
            Some("user") => SliceAccount::User(id),
            Some("key") => SliceAccount::Key(id),
            _ => return Err(()),
        };
        match verb {
            Some("want") => Ok(Self::Want(account)),
            Some("gave") => Ok(Self::Gave(
                account,
                words.next().ok_or(())?.parse().map_err(drop)?,
            )),
            _ => Err(()),
        }
    }
}
