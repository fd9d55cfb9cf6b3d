//! GitLab's human durations (`timeout: "1h 30m"`, `expire_in: "1 week"`), parsed to seconds.

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
const MONTH: i64 = 30 * DAY;
const YEAR: i64 = 365 * DAY;

/// Longest duration text we look at; GitLab's are a few words.
const MAX_TEXT_LEN: usize = 256;
/// Largest duration accepted (about 1000 years), so arithmetic cannot overflow.
const MAX_SECONDS: f64 = 1000.0 * YEAR as f64;

/// Parses a duration such as `"1h 30m"`, `"1 hour 30 minutes"`, `"90 min"`, `"3 days"`, `"2 weeks"`,
/// `"1 month"` (30 days), `"1 year"` (365 days) or `"3600"` (seconds) into whole seconds.
pub fn parse_seconds(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid duration '{}'", shorten(text));
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > MAX_TEXT_LEN {
        return Err(invalid());
    }
    let lowered = trimmed.to_ascii_lowercase();
    let mut total = 0.0_f64;
    let mut pending_number: Option<f64> = None;
    let mut seen_any = false;
    let mut chars = lowered.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            if pending_number.is_some() {
                return Err(invalid());
            }
            let mut end = start;
            while let Some(&(i, d)) = chars.peek() {
                if d.is_ascii_digit() || d == '.' {
                    end = i + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let number: f64 = lowered[start..end].parse().map_err(|_| invalid())?;
            pending_number = Some(number);
            continue;
        }
        if c.is_ascii_alphabetic() {
            let mut end = start;
            while let Some(&(i, d)) = chars.peek() {
                if d.is_ascii_alphabetic() {
                    end = i + 1;
                    chars.next();
                } else {
                    break;
                }
            }
            let word = &lowered[start..end];
            if word == "and" && pending_number.is_none() {
                continue;
            }
            let unit = unit_seconds(word).ok_or_else(invalid)?;
            let number = pending_number.take().ok_or_else(invalid)?;
            total += number * unit as f64;
            seen_any = true;
            if total > MAX_SECONDS {
                return Err(invalid());
            }
            continue;
        }
        return Err(invalid());
    }
    if let Some(seconds) = pending_number {
        total += seconds;
        seen_any = true;
    }
    if !seen_any || !total.is_finite() || total > MAX_SECONDS {
        return Err(invalid());
    }
    Ok(total.round() as i64)
}

/// Parses `artifacts:expire_in`: `"never"` is `None`, anything else a duration in seconds.
pub fn parse_expire_in(text: &str) -> Result<Option<i64>, String> {
    if text.trim().eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    parse_seconds(text).map(Some)
}

fn unit_seconds(word: &str) -> Option<i64> {
    Some(match word {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "wk" | "wks" | "week" | "weeks" => WEEK,
        "mo" | "mon" | "mons" | "month" | "months" => MONTH,
        "y" | "yr" | "yrs" | "year" | "years" => YEAR,
        _ => return None,
    })
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_examples() {
        let cases = [
            ("1h 30m", 5400),
            ("1 hour 30 minutes", 5400),
            ("90 min", 5400),
            ("90 minutes", 5400),
            ("3600", 3600),
            ("2h", 7200),
            ("3 days", 3 * DAY),
            ("1 week", WEEK),
            ("2 weeks", 2 * WEEK),
            ("1 month", 30 * DAY),
            ("1 year", 365 * DAY),
            ("30 mins", 1800),
            ("2 hrs 20 min", 2 * HOUR + 20 * MINUTE),
            ("1h30m", 5400),
            ("1 day and 2 hours", DAY + 2 * HOUR),
            ("1.5 hours", 5400),
            ("42 seconds", 42),
            ("  10m  ", 600),
        ];
        for (text, want) in cases {
            assert_eq!(parse_seconds(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn never_is_none_for_expire_in_only() {
        assert_eq!(parse_expire_in("never"), Ok(None));
        assert_eq!(parse_expire_in("1 week"), Ok(Some(WEEK)));
        assert!(parse_seconds("never").is_err());
    }

    #[test]
    fn junk_is_refused() {
        for text in [
            "",
            "hours",
            "1 fortnight",
            "1..2 h",
            "1 2 h",
            "-5m",
            "99999999999999999999 years",
            &"1h ".repeat(200),
            "1h\u{0}",
        ] {
            assert!(parse_seconds(text).is_err(), "{text:?}");
        }
    }
}
