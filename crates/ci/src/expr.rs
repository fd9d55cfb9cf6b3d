//! The `rules:if` expression language: `$VAR`, quoted strings, `null`, `/regex/flags`,
//! `==`, `!=`, `=~`, `!~`, `&&`, `||` and parentheses, parsed once and evaluated against variables.

use regex::{Regex, RegexBuilder};

/// Longest expression text accepted.
const MAX_EXPRESSION_LEN: usize = 4096;
/// Deepest parenthesis nesting accepted.
const MAX_NESTING: usize = 32;
/// Compiled-program size limit for one regular expression, so a hostile pattern stays small.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A parsed `rules:if` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A bare operand: true when it has a non-empty value.
    Operand(Operand),
    /// `left == right` or `left != right` (when `negated`).
    Equals {
        left: Operand,
        right: Operand,
        negated: bool,
    },
    /// `left =~ right` or `left !~ right` (when `negated`).
    Matches {
        left: Operand,
        right: Operand,
        negated: bool,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Variable(String),
    Text(String),
    Null,
    Pattern(Pattern),
}

/// A compiled `/regex/flags` literal.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The literal as written, `/.../flags`.
    pub source: String,
    regex: Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Pattern {
    /// Compiles `/body/flags` text (flags among `i`, `m`, `s`, `x`), with a size limit.
    pub fn parse(literal: &str) -> Result<Pattern, String> {
        let (body, flags) = split_pattern_literal(literal)
            .ok_or_else(|| format!("'{}' is not a /regular expression/", shorten(literal)))?;
        Pattern::compile(body, flags, literal)
    }

    fn compile(body: &str, flags: &str, source: &str) -> Result<Pattern, String> {
        let unescaped = body.replace("\\/", "/");
        let mut builder = RegexBuilder::new(&unescaped);
        builder
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(64);
        for flag in flags.chars() {
            match flag {
                'i' => builder.case_insensitive(true),
                // Ruby's `m` lets `.` match newlines.
                'm' | 's' => builder.dot_matches_new_line(true),
                'x' => builder.ignore_whitespace(true),
                other => return Err(format!("unknown regular expression flag '{other}'")),
            };
        }
        let regex = builder
            .build()
            .map_err(|_| format!("invalid regular expression {}", shorten(source)))?;
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    /// True when the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// Splits `/body/flags` into body and flags, when the text has that shape.
fn split_pattern_literal(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('/')?;
    let close = rest.rfind('/')?;
    let (body, flags) = (&rest[..close], &rest[close + 1..]);
    flags
        .chars()
        .all(|c| c.is_ascii_alphabetic())
        .then_some((body, flags))
}

/// Parses a `rules:if` expression.
pub fn parse(text: &str) -> Result<Expr, String> {
    if text.len() > MAX_EXPRESSION_LEN {
        return Err(format!(
            "expression is too long (the maximum is {MAX_EXPRESSION_LEN} characters)"
        ));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        position: 0,
        depth: 0,
    };
    let expr = parser.parse_or()?;
    if parser.position != parser.tokens.len() {
        return Err("invalid expression syntax".to_string());
    }
    Ok(expr)
}

/// A value during evaluation.
enum Value<'a> {
    Null,
    Text(String),
    Pattern(&'a Pattern),
}

impl Value<'_> {
    fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Text(text) => !text.is_empty(),
            Value::Pattern(_) => true,
        }
    }
}

impl Expr {
    /// Evaluates the expression; `vars` returns a variable's value, `None` when it is undefined.
    pub fn eval(&self, vars: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Expr::Operand(operand) => operand.value(vars).is_truthy(),
            Expr::Equals {
                left,
                right,
                negated,
            } => {
                let equal = match (left.value(vars), right.value(vars)) {
                    (Value::Null, Value::Null) => true,
                    (Value::Text(a), Value::Text(b)) => a == b,
                    (Value::Pattern(a), Value::Pattern(b)) => a == b,
                    _ => false,
                };
                equal != *negated
            }
            Expr::Matches {
                left,
                right,
                negated,
            } => {
                let text = match left.value(vars) {
                    Value::Text(text) => text,
                    _ => String::new(),
                };
                let matched = match right.value(vars) {
                    Value::Pattern(pattern) => Some(pattern.is_match(&text)),
                    // GitLab lets the right side be a variable that holds `/pattern/`.
                    Value::Text(literal) => Pattern::parse(&literal)
                        .ok()
                        .map(|pattern| pattern.is_match(&text)),
                    Value::Null => None,
                };
                match matched {
                    Some(matched) => matched != *negated,
                    // No usable pattern: `=~` is false and `!~` is true, like GitLab.
                    None => *negated,
                }
            }
            Expr::And(a, b) => a.eval(vars) && b.eval(vars),
            Expr::Or(a, b) => a.eval(vars) || b.eval(vars),
        }
    }
}

impl Operand {
    fn value<'a>(&'a self, vars: &dyn Fn(&str) -> Option<String>) -> Value<'a> {
        match self {
            Operand::Variable(name) => vars(name).map_or(Value::Null, Value::Text),
            Operand::Text(text) => Value::Text(text.clone()),
            Operand::Null => Value::Null,
            Operand::Pattern(pattern) => Value::Pattern(pattern),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Operand(Operand),
    Equal,
    NotEqual,
    Match,
    NotMatch,
    And,
    Or,
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let Some(first) = rest.chars().next() else {
            break;
        };
        let (token, used) = match first {
            '$' => lex_variable(rest)?,
            '"' | '\'' => lex_string(rest, first)?,
            '/' => lex_pattern(rest)?,
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            _ => lex_operator_or_word(rest)?,
        };
        tokens.push(token);
        rest = &rest[used..];
    }
    if tokens.is_empty() {
        return Err("expression is empty".to_string());
    }
    Ok(tokens)
}

fn lex_variable(text: &str) -> Result<(Token, usize), String> {
    let after = &text[1..];
    let (name, used) = if let Some(braced) = after.strip_prefix('{') {
        let close = braced
            .find('}')
            .ok_or_else(|| "unclosed ${ in expression".to_string())?;
        (&braced[..close], close + 3)
    } else {
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        (&after[..len], len + 1)
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("invalid variable name in expression".to_string());
    }
    Ok((Token::Operand(Operand::Variable(name.to_string())), used))
}

fn lex_string(text: &str, quote: char) -> Result<(Token, usize), String> {
    let body = &text[1..];
    let close = body
        .find(quote)
        .ok_or_else(|| "unterminated string in expression".to_string())?;
    Ok((
        Token::Operand(Operand::Text(body[..close].to_string())),
        close + 2,
    ))
}

fn lex_pattern(text: &str) -> Result<(Token, usize), String> {
    let bytes = text.as_bytes();
    let mut index = 1;
    let mut close = None;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'/' => {
                close = Some(index);
                break;
            }
            _ => index += 1,
        }
    }
    let close = close.ok_or_else(|| "unterminated regular expression".to_string())?;
    let flags_len = text[close + 1..]
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len() - close - 1);
    let end = close + 1 + flags_len;
    let pattern = Pattern::compile(&text[1..close], &text[close + 1..end], &text[..end])?;
    Ok((Token::Operand(Operand::Pattern(pattern)), end))
}

fn lex_operator_or_word(text: &str) -> Result<(Token, usize), String> {
    for (symbol, token) in [
        ("==", Token::Equal),
        ("!=", Token::NotEqual),
        ("=~", Token::Match),
        ("!~", Token::NotMatch),
        ("&&", Token::And),
        ("||", Token::Or),
    ] {
        if text.starts_with(symbol) {
            return Ok((token, 2));
        }
    }
    let word_len = text
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(text.len());
    if word_len > 0 && &text[..word_len] == "null" {
        return Ok((Token::Operand(Operand::Null), word_len));
    }
    let shown: String = text.chars().take(20).collect();
    Err(format!("unexpected '{shown}' in expression"))
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn parse_or(&mut self) -> Result<Expr, String> {
        let mut left = self.parse_and()?;
        while self.peek() == Some(&Token::Or) {
            self.position += 1;
            let right = self.parse_and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Expr, String> {
        let mut left = self.parse_comparison()?;
        while self.peek() == Some(&Token::And) {
            self.position += 1;
            let right = self.parse_comparison()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_comparison(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Token::Open) {
            self.position += 1;
            self.depth += 1;
            if self.depth > MAX_NESTING {
                return Err("expression is nested too deeply".to_string());
            }
            let inner = self.parse_or()?;
            if self.peek() != Some(&Token::Close) {
                return Err("missing ) in expression".to_string());
            }
            self.position += 1;
            self.depth -= 1;
            return Ok(inner);
        }
        let left = self.parse_operand()?;
        let operator = match self.peek() {
            Some(op @ (Token::Equal | Token::NotEqual | Token::Match | Token::NotMatch)) => {
                op.clone()
            }
            _ => return Ok(Expr::Operand(left)),
        };
        self.position += 1;
        let right = self.parse_operand()?;
        Ok(match operator {
            Token::Equal | Token::NotEqual => Expr::Equals {
                left,
                right,
                negated: operator == Token::NotEqual,
            },
            _ => Expr::Matches {
                left,
                right,
                negated: operator == Token::NotMatch,
            },
        })
    }

    fn parse_operand(&mut self) -> Result<Operand, String> {
        match self.tokens.get(self.position) {
            Some(Token::Operand(operand)) => {
                let operand = operand.clone();
                self.position += 1;
                Ok(operand)
            }
            _ => Err("invalid expression syntax".to_string()),
        }
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn eval(text: &str, vars: &[(&str, &str)]) -> bool {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let expr = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        expr.eval(&|name| map.get(name).cloned())
    }

    #[test]
    fn comparisons() {
        let vars = [
            ("CI_COMMIT_BRANCH", "main"),
            ("EMPTY", ""),
            ("A", "x"),
            ("B", "x"),
        ];
        assert!(eval("$CI_COMMIT_BRANCH == \"main\"", &vars));
        assert!(eval("$CI_COMMIT_BRANCH == 'main'", &vars));
        assert!(!eval("$CI_COMMIT_BRANCH != 'main'", &vars));
        assert!(eval("$A == $B", &vars));
        assert!(eval("$UNDEFINED == null", &vars));
        assert!(!eval("$EMPTY == null", &vars));
        assert!(eval("$CI_COMMIT_TAG != null || $A", &vars));
        assert!(!eval("$UNDEFINED == ''", &vars));
        assert!(eval("${A} == 'x'", &vars));
    }

    #[test]
    fn bare_variables_mean_defined_and_non_empty() {
        let vars = [("SET", "1"), ("EMPTY", "")];
        assert!(eval("$SET", &vars));
        assert!(!eval("$EMPTY", &vars));
        assert!(!eval("$MISSING", &vars));
    }

    #[test]
    fn regex_matching() {
        let vars = [
            ("REF", "release/1.2"),
            ("PAT", "/^release/"),
            ("UP", "MAIN"),
        ];
        assert!(eval("$REF =~ /^release\\/\\d/", &vars));
        assert!(!eval("$REF !~ /^release/", &vars));
        assert!(eval("$UP =~ /main/i", &vars));
        assert!(!eval("$UP =~ /main/", &vars));
        assert!(eval("$REF =~ $PAT", &vars));
        assert!(eval("$MISSING =~ /^$/", &vars));
        assert!(!eval("$REF =~ $MISSING", &vars));
        assert!(eval("$REF !~ $MISSING", &vars));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let vars = [("A", "1")];
        // true || (false && false)
        assert!(eval("$A || $B && $C", &vars));
        // (true || false) && false
        assert!(!eval("($A || $B) && $C", &vars));
        assert!(eval("(($A))", &vars));
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "",
            "$",
            "$A ==",
            "== $A",
            "$A = 'x'",
            "$A == 'x",
            "($A",
            "$A)",
            "$A $B",
            "/unterminated",
            "/(/",
            "$A =~ /x/q",
            "$A & $B",
            "main",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hostile_expressions_are_bounded() {
        let deep = format!("{}$A{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).is_err());
        let nested = format!("{}$A{}", "(".repeat(20), ")".repeat(20));
        assert!(parse(&nested).is_ok());
        assert!(parse(&"$A || ".repeat(2000)).is_err());
        // A pattern whose compiled form is huge is refused instead of allocating.
        assert!(parse("$A =~ /(((a{100}){100}){100})/").is_err());
    }
}
