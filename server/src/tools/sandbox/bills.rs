//! Accounts and monthly statements: realistic, deterministic for a login,
//! with seasonal usage, for the last twelve complete months.

use time::{Date, Month};

use super::catalog::SandboxUtility;
use super::contact::seed;
use crate::infra::utility::protocol::{Account, Statement};

const STREETS: [&str; 8] = [
    "Maple Avenue",
    "Oak Street",
    "Harbor Road",
    "Elm Court",
    "Sunset Boulevard",
    "Ridge Lane",
    "Mill Street",
    "Lakeview Drive",
];

pub fn accounts(utility: &SandboxUtility, username: &str) -> Vec<Account> {
    let seed = seed(utility.id, username);
    let count = 1 + (seed % 2) as usize;
    (0..count)
        .map(|index| {
            let n = seed.rotate_left(index as u32 * 13);
            Account {
                account_number: format!("{:04}-{:06}", n % 10_000, (n / 10_000) % 1_000_000),
                service_address: format!(
                    "{} {}, Springfield",
                    100 + (n / 7) % 9_000,
                    STREETS[(n % STREETS.len() as u64) as usize]
                ),
                fuel: utility.fuel.to_owned(),
            }
        })
        .collect()
}

/// Usage per month for a typical home, and what a unit costs (cents) plus a fixed charge.
fn tariff(fuel: &str) -> (f64, &'static str, f64, i64) {
    match fuel {
        "gas" => (60.0, "therms", 135.0, 1_200),
        "water" => (5_500.0, "gallons", 0.9, 1_800),
        _ => (650.0, "kWh", 16.0, 1_000),
    }
}

/// How much more than average a month uses: electricity peaks in summer, gas
/// and (less) water in winter and summer respectively.
fn seasonal_factor(fuel: &str, month: Month) -> f64 {
    let m = f64::from(u8::from(month));
    let summer_peak = (std::f64::consts::PI * (m - 1.0) / 6.0 - std::f64::consts::PI).cos();
    match fuel {
        "gas" => 1.0 - 0.55 * summer_peak,
        "water" => 1.0 + 0.2 * summer_peak,
        _ => 1.0 + 0.3 * summer_peak,
    }
}

/// The statements of one account for the twelve months before `today`'s month.
pub fn statements(
    utility: &SandboxUtility,
    username: &str,
    account: &Account,
    today: Date,
) -> Vec<Statement> {
    let seed = seed(
        utility.id,
        &format!("{username}/{}", account.account_number),
    );
    let (base_usage, unit, cents_per_unit, fixed_cents) = tariff(&account.fuel);
    let household = 0.7 + (seed % 600) as f64 / 1000.0;
    let mut period_end = first_of_month(today);
    let mut statements = Vec::with_capacity(12);
    for index in 0..12u64 {
        let period_start = first_of_month(period_end.previous_day().unwrap_or(period_end));
        let noise = 0.92 + ((seed.rotate_left(index as u32 * 5) % 160) as f64) / 1000.0;
        let usage = (base_usage
            * household
            * seasonal_factor(&account.fuel, period_start.month())
            * noise
            * 10.0)
            .round()
            / 10.0;
        let amount_cents = (usage * cents_per_unit).round() as i64 + fixed_cents;
        statements.push(Statement {
            id: format!(
                "stmt_{}_{}_{:02}",
                account.account_number,
                period_start.year(),
                u8::from(period_start.month())
            ),
            account_number: account.account_number.clone(),
            period_start,
            period_end: period_end.previous_day().unwrap_or(period_end),
            usage,
            usage_unit: unit.to_owned(),
            amount_cents,
            currency: "USD".to_owned(),
        });
        period_end = period_start;
    }
    statements
}

fn first_of_month(date: Date) -> Date {
    date.replace_day(1).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::sandbox::catalog::find_utility;
    use time::macros::date;

    #[test]
    fn statements_cover_the_twelve_complete_months_before_today() {
        let utility = find_utility("sandbox-electric").unwrap();
        let account = &accounts(utility, "user_good")[0];
        let statements = statements(utility, "user_good", account, date!(2026 - 11 - 28));
        assert_eq!(statements.len(), 12);
        assert_eq!(statements[0].period_start, date!(2026 - 10 - 01));
        assert_eq!(statements[0].period_end, date!(2026 - 10 - 31));
        assert_eq!(statements[11].period_start, date!(2025 - 11 - 01));
        assert!(statements
            .iter()
            .all(|s| s.usage > 0.0 && s.amount_cents > 0 && s.usage_unit == "kWh"));
    }

    #[test]
    fn the_same_login_always_gets_the_same_bills() {
        let utility = find_utility("sandbox-gas").unwrap();
        let first = accounts(utility, "user_good");
        assert_eq!(first, accounts(utility, "user_good"));
        let today = date!(2026 - 03 - 15);
        assert_eq!(
            statements(utility, "user_good", &first[0], today),
            statements(utility, "user_good", &first[0], today)
        );
    }

    #[test]
    fn gas_usage_peaks_in_winter() {
        let utility = find_utility("sandbox-gas").unwrap();
        let account = &accounts(utility, "user_good")[0];
        let statements = statements(utility, "user_good", account, date!(2026 - 12 - 15));
        let usage_in = |month: Month| {
            statements
                .iter()
                .find(|s| s.period_start.month() == month)
                .unwrap()
                .usage
        };
        assert!(usage_in(Month::January) > 2.0 * usage_in(Month::July));
    }
}
