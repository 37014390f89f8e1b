//! Default names: the table from the struct name, the column handle from the field name.

/// `BankAccount` → `bank_account`, `HTTPLog` → `http_log`, `Account2` → `account2`.
pub(super) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let after_lower = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
            let acronym_end =
                prev.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase);
            if (after_lower || acronym_end) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `balance` → `BALANCE`, `owner_id` → `OWNER_ID`, `ownerId` → `OWNER_ID`.
pub(super) fn screaming_snake_case(name: &str) -> String {
    snake_case(name).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_names_become_snake_case() {
        assert_eq!(snake_case("BankAccount"), "bank_account");
        assert_eq!(snake_case("Account"), "account");
        assert_eq!(snake_case("HTTPLog"), "http_log");
        assert_eq!(snake_case("LogV2Entry"), "log_v2_entry");
        assert_eq!(snake_case("Account2"), "account2");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }

    #[test]
    fn field_names_become_screaming_snake_case() {
        assert_eq!(screaming_snake_case("balance"), "BALANCE");
        assert_eq!(screaming_snake_case("owner_id"), "OWNER_ID");
        assert_eq!(screaming_snake_case("ownerId"), "OWNER_ID");
        assert_eq!(screaming_snake_case("type"), "TYPE");
    }
}
