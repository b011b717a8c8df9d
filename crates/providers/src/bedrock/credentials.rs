//! A bedrock channel key, `ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION` (new-api's form), read into its three parts.
//! The secret access key never leaves this module's types in text: `Debug` hides it and no error message names it.

/// The three parts of a bedrock key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub(super) secret_access_key: String,
    pub region: String,
}

debug_only!(Credentials {
    access_key_id,
    region
});

impl Credentials {
    /// Reads `AK|SK|REGION`; the refusal says which part is wrong, never what the secret is.
    pub fn parse(key: &str) -> Result<Self, String> {
        let parts: Vec<&str> = key.trim().split('|').map(str::trim).collect();
        let [access_key_id, secret, region] = parts[..] else {
            return Err(
                "a bedrock key is ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION (three parts separated by `|`)"
                    .to_owned(),
            );
        };
        if access_key_id.is_empty() || !access_key_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("a bedrock key's access key id must be letters and digits".to_owned());
        }
        if secret.is_empty() || !secret.chars().all(|c| c.is_ascii_graphic()) {
            return Err(
                "a bedrock key's secret access key must be printable ASCII without spaces"
                    .to_owned(),
            );
        }
        if !is_region(region) {
            return Err(format!(
                "a bedrock key's region `{region}` must be an AWS region such as us-east-1"
            ));
        }
        Ok(Self {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret.to_owned(),
            region: region.to_owned(),
        })
    }

    /// The cloud endpoint of the key's region (the region's shape keeps it a plain host name).
    pub fn endpoint(&self) -> String {
        format!("https://bedrock-runtime.{}.amazonaws.com", self.region)
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: lowercase letters, digits and inner dashes.
fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::Credentials;

    #[test]
    fn reads_the_three_parts() {
        let c = Credentials::parse("AKIDEXAMPLE|wJalr/K7MDENG+bPxRfiCY|us-east-1").unwrap();
        assert_eq!(c.access_key_id, "AKIDEXAMPLE");
        assert_eq!(c.region, "us-east-1");
        assert_eq!(
            c.endpoint(),
            "https://bedrock-runtime.us-east-1.amazonaws.com"
        );
        assert!(!format!("{c:?}").contains("wJalr"));
    }

    #[test]
    fn refusals_never_name_the_secret() {
        for bad in [
            "AKID|secret-value",
            "AKID|secret-value|us-east-1|x",
            "AK ID|secret-value|us-east-1",
            "AKID||us-east-1",
            "AKID|secret-value|US_EAST",
            "AKID|secret-value|evil.com/x",
        ] {
            let err = Credentials::parse(bad).unwrap_err();
            assert!(!err.contains("secret-value"), "{err}");
        }
    }
}
