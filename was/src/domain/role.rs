//! Who may do what: every account has one role. Renters rent; partner-store staff look
//! after their own stores; deposit clerks handle money but not rights or bans; admins
//! do everything. What each role may call is `http::admin::policy`.

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Role {
    Renter,
    Staff,
    Clerk,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Renter, Role::Staff, Role::Clerk, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Renter => "renter",
            Role::Staff => "staff",
            Role::Clerk => "clerk",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Opens the console: every role but renter.
    pub fn is_operator(self) -> bool {
        self != Role::Renter
    }

    /// Korean first, English beside.
    pub fn label(self) -> &'static str {
        match self {
            Role::Renter => "이용자 (renter)",
            Role::Staff => "매장 직원 (store staff)",
            Role::Clerk => "보증금 담당 (deposit clerk)",
            Role::Admin => "관리자 (admin)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_value(role).ok(),
                Some(serde_json::json!(role.as_str()))
            );
        }
        assert_eq!(Role::parse("Admin"), None);
        assert!(!Role::Renter.is_operator() && Role::Staff.is_operator());
    }
}
