//! The authorization decision, as the seed system defines it: a call is allowed when both
//! the tenant rule and the permission rule hold.
//!
//! - **tenant**: the requested tenant equals the claims' tenant, or super-admin access is
//!   allowed for this call and the claims' tenant is the super-admin tenant;
//! - **permissions**: every requested permission is among the claims' roles.
//!
//! It never fails open: claims that are not a JSON object, a missing or malformed tenant or
//! roles claim, an empty permission name, or a permission the caller does not hold are
//! denials. A denial says which rule failed, never what the claims hold (they carry personal
//! data).

use serde_json::Value;

/// Where the tenant is in the claims by default: the seed's Hasura layout.
pub const DEFAULT_TENANT_CLAIM: &str = "/https:~1~1hasura.io~1jwt~1claims/x-hasura-tenant-id";

/// Where the roles are in the claims by default: the seed's Hasura layout.
pub const DEFAULT_ROLES_CLAIM: &str = "/https:~1~1hasura.io~1jwt~1claims/x-hasura-allowed-roles";

/// How claims are read and which tenant is the super-admin's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// JSON pointer to the tenant id (a string) in the claims.
    pub tenant_claim: String,
    /// JSON pointer to the roles (a list of strings) in the claims.
    pub roles_claim: String,
    /// The super-admin tenant; `None` turns the super-admin rule off.
    pub super_admin_tenant: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            tenant_claim: DEFAULT_TENANT_CLAIM.into(),
            roles_claim: DEFAULT_ROLES_CLAIM.into(),
            super_admin_tenant: None,
        }
    }
}

/// Why a call is not authorized. The message names the rule that failed and never quotes
/// the claims.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// The claims are not a JSON object.
    #[error("not authorized: the claims are not a JSON object")]
    ClaimsNotJson,
    /// The claims have no tenant string where the policy looks for it.
    #[error("not authorized: the claims have no tenant (a string at `{0}`)")]
    NoTenant(String),
    /// The claims have no list of role strings where the policy looks for it.
    #[error("not authorized: the claims have no roles (a list of strings at `{0}`)")]
    NoRoles(String),
    /// The caller's tenant is not the requested one.
    #[error("not authorized: tenant rule failed: the caller belongs to another tenant than the one requested")]
    WrongTenant,
    /// No tenant was requested, and the super-admin rule does not apply.
    #[error("not authorized: tenant rule failed: no tenant was requested and the caller is not a super-admin allowed on this call")]
    NoTenantRequested,
    /// The caller is of the super-admin tenant, but this call does not allow super-admins.
    #[error("not authorized: tenant rule failed: the caller belongs to the super-admin tenant, which this call does not allow (allow-super-admin-auth is false)")]
    SuperAdminNotAllowed,
    /// A requested permission is empty.
    #[error("not authorized: permission rule failed: an empty permission name was requested")]
    EmptyPermission,
    /// The caller does not hold these requested permissions.
    #[error("not authorized: permission rule failed: the caller does not hold {}", quoted(.0))]
    MissingPermissions(Vec<String>),
}

fn quoted(names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

impl Policy {
    /// Decides whether the caller whose token payload is `claims` (JSON text) may act on
    /// `tenant` with every one of `permissions`.
    pub fn authorize(
        &self,
        claims: &str,
        allow_super_admin: bool,
        tenant: Option<&str>,
        permissions: &[String],
    ) -> Result<(), Denial> {
        let claims: Value = serde_json::from_str(claims).map_err(|_| Denial::ClaimsNotJson)?;
        if !claims.is_object() {
            return Err(Denial::ClaimsNotJson);
        }
        let caller_tenant = claims
            .pointer(&self.tenant_claim)
            .and_then(Value::as_str)
            .ok_or_else(|| Denial::NoTenant(self.tenant_claim.clone()))?;
        let roles: Vec<&str> = claims
            .pointer(&self.roles_claim)
            .and_then(Value::as_array)
            .and_then(|roles| roles.iter().map(Value::as_str).collect::<Option<_>>())
            .ok_or_else(|| Denial::NoRoles(self.roles_claim.clone()))?;

        let is_super_admin = self.super_admin_tenant.as_deref() == Some(caller_tenant);
        match tenant {
            _ if is_super_admin && allow_super_admin => {}
            Some(requested) if requested == caller_tenant => {}
            _ if is_super_admin => return Err(Denial::SuperAdminNotAllowed),
            Some(_) => return Err(Denial::WrongTenant),
            None => return Err(Denial::NoTenantRequested),
        }

        if permissions.iter().any(String::is_empty) {
            return Err(Denial::EmptyPermission);
        }
        let missing: Vec<String> = permissions
            .iter()
            .filter(|permission| !roles.contains(&permission.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Denial::MissingPermissions(missing))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TENANT: &str = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5";
    const ADMIN_TENANT: &str = "00000000-0000-0000-0000-000000000001";

    fn claims(tenant: &str, roles: &[&str]) -> String {
        json!({
            "sub": "alice",
            "https://hasura.io/jwt/claims": {
                "x-hasura-tenant-id": tenant,
                "x-hasura-allowed-roles": roles,
            }
        })
        .to_string()
    }

    fn policy() -> Policy {
        Policy {
            super_admin_tenant: Some(ADMIN_TENANT.into()),
            ..Policy::default()
        }
    }

    fn admin() -> Vec<String> {
        vec!["admin-user".into()]
    }

    #[test]
    fn the_right_tenant_with_the_role_is_allowed() {
        let claims = claims(TENANT, &["user", "admin-user"]);
        assert_eq!(
            policy().authorize(&claims, false, Some(TENANT), &admin()),
            Ok(())
        );
        assert_eq!(
            policy().authorize(&claims, false, Some(TENANT), &[]),
            Ok(())
        );
    }

    #[test]
    fn each_rule_that_fails_is_named() {
        let p = policy();
        let user = claims(TENANT, &["user"]);
        assert_eq!(
            p.authorize(&user, false, Some(TENANT), &admin()),
            Err(Denial::MissingPermissions(admin()))
        );
        let other = claims("another-tenant", &["admin-user"]);
        assert_eq!(
            p.authorize(&other, false, Some(TENANT), &admin()),
            Err(Denial::WrongTenant)
        );
        assert_eq!(
            p.authorize(&other, true, None, &admin()),
            Err(Denial::NoTenantRequested)
        );
        let super_admin = claims(ADMIN_TENANT, &["admin-user"]);
        assert_eq!(
            p.authorize(&super_admin, false, Some(TENANT), &admin()),
            Err(Denial::SuperAdminNotAllowed)
        );
        assert_eq!(
            p.authorize(&super_admin, true, Some(TENANT), &admin()),
            Ok(())
        );
        assert_eq!(p.authorize(&super_admin, true, None, &admin()), Ok(()));
    }

    #[test]
    fn it_never_fails_open() {
        let p = policy();
        let good = claims(TENANT, &["admin-user"]);
        for bad in ["not json", "[1, 2]", "\"text\"", "{}"] {
            assert!(
                p.authorize(bad, true, Some(TENANT), &admin()).is_err(),
                "{bad}"
            );
        }
        let unknown = vec!["made-up-permission".to_string()];
        assert_eq!(
            p.authorize(&good, false, Some(TENANT), &unknown),
            Err(Denial::MissingPermissions(unknown))
        );
        assert_eq!(
            p.authorize(&good, false, Some(TENANT), &[String::new()]),
            Err(Denial::EmptyPermission)
        );
        let roles_not_strings = json!({"https://hasura.io/jwt/claims": {
            "x-hasura-tenant-id": TENANT, "x-hasura-allowed-roles": [1]}})
        .to_string();
        assert!(matches!(
            p.authorize(&roles_not_strings, false, Some(TENANT), &[]),
            Err(Denial::NoRoles(_))
        ));
        let no_super_admin = Policy::default();
        let super_admin = claims(ADMIN_TENANT, &["admin-user"]);
        assert_eq!(
            no_super_admin.authorize(&super_admin, true, Some(TENANT), &admin()),
            Err(Denial::WrongTenant)
        );
    }

    #[test]
    fn denials_do_not_quote_the_claims() {
        let p = policy();
        let claims = claims("tenant-of-alice", &["role-of-alice"]);
        for (tenant, permissions) in [(Some(TENANT), admin()), (None, vec![])] {
            let denial = p
                .authorize(&claims, false, tenant, &permissions)
                .unwrap_err();
            let text = denial.to_string();
            assert!(!text.contains("alice"), "{text}");
        }
    }

    #[test]
    fn claims_are_found_where_the_policy_says() {
        let p = Policy {
            tenant_claim: "/tenant".into(),
            roles_claim: "/realm_access/roles".into(),
            super_admin_tenant: None,
        };
        let claims =
            json!({"tenant": TENANT, "realm_access": {"roles": ["admin-user"]}}).to_string();
        assert_eq!(p.authorize(&claims, false, Some(TENANT), &admin()), Ok(()));
        let hasura = self::claims(TENANT, &["admin-user"]);
        assert_eq!(
            p.authorize(&hasura, false, Some(TENANT), &admin()),
            Err(Denial::NoTenant("/tenant".into()))
        );
    }
}
