//! The subset of Python literal syntax a `.npy` header is written in
//! (`ast.literal_eval` of strings, integers, booleans, `None`, tuples, lists
//! and dicts), parsed without recursion deeper than [`MAX_DEPTH`] so hostile
//! input cannot exhaust the stack.

use super::header::npy_error;
use ferrograd_storage::Result;
use std::fmt;

/// Nesting deeper than this is rejected (a real header nests two levels).
const MAX_DEPTH: usize = 16;

/// One parsed Python literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Literal {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = |f: &mut fmt::Formatter<'_>, items: &[Literal]| -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        };
        match self {
            Literal::Str(s) => write!(f, "{s:?}"),
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Literal::None => f.write_str("None"),
            Literal::Tuple(items) if items.len() == 1 => write!(f, "({},)", items[0]),
            Literal::Tuple(items) => {
                f.write_str("(")?;
                seq(f, items)?;
                f.write_str(")")
            }
            Literal::List(items) => {
                f.write_str("[")?;
                seq(f, items)?;
                f.write_str("]")
            }
            Literal::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Parses `text` as one literal surrounded by optional whitespace.
pub(crate) fn parse_literal(text: &str) -> Result<Literal> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.pos != parser.chars.len() {
        return Err(parser.error("unexpected text after the header dict"));
    }
    Ok(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn error(&self, what: &str) -> ferrograd_storage::Error {
        let context: String = self.chars[self.pos.min(self.chars.len())..]
            .iter()
            .take(24)
            .collect();
        npy_error(format!(
            "cannot parse the header: {what} at character {} (near {context:?})",
            self.pos
        ))
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    /// The next non-space character, not consumed.
    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.pos).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Literal> {
        if depth > MAX_DEPTH {
            return Err(self.error("literals nested too deeply"));
        }
        match self.peek() {
            Some(q @ ('\'' | '"')) => self.string(q),
            Some('(') => self.tuple(depth),
            Some('[') => Ok(Literal::List(self.items('[', ']', depth)?)),
            Some('{') => self.dict(depth),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.int(),
            Some(c) if c.is_alphabetic() => self.name(),
            Some(_) => Err(self.error("expected a Python literal")),
            None => Err(self.error("the header ends where a value was expected")),
        }
    }

    fn string(&mut self, quote: char) -> Result<Literal> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = *self
                .chars
                .get(self.pos)
                .ok_or_else(|| self.error("unterminated string"))?;
            self.pos += 1;
            match c {
                c if c == quote => return Ok(Literal::Str(out)),
                '\\' => {
                    let e = *self
                        .chars
                        .get(self.pos)
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.pos += 1;
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
    }

    fn int(&mut self) -> Result<Literal> {
        let start = self.pos;
        if matches!(self.chars[self.pos], '-' | '+') {
            self.pos += 1;
        }
        while self.chars.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        // Python 2 wrote long integers with an `L` suffix.
        if self
            .chars
            .get(self.pos)
            .is_some_and(|&c| c == 'L' || c == 'l')
        {
            self.pos += 1;
        }
        match text.parse::<i64>() {
            Ok(n) => Ok(Literal::Int(n)),
            Err(_) if text.len() > 1 => Err(npy_error(format!(
                "integer {text} in the header is out of range"
            ))),
            Err(_) => Err(self.error("expected digits")),
        }
    }

    fn name(&mut self) -> Result<Literal> {
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match word.as_str() {
            "True" => Ok(Literal::Bool(true)),
            "False" => Ok(Literal::Bool(false)),
            "None" => Ok(Literal::None),
            _ => {
                self.pos = start;
                Err(self.error("expected True, False, None, a number, a string or a bracket"))
            }
        }
    }

    /// `open item, item, ... close` with an optional trailing comma; also
    /// reports whether a comma was seen (to tell `(5)` from `(5,)`).
    fn items_with_comma(
        &mut self,
        open: char,
        close: char,
        depth: usize,
    ) -> Result<(Vec<Literal>, bool)> {
        debug_assert_eq!(self.peek(), Some(open));
        self.pos += 1;
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, comma));
            }
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    comma = true;
                }
                Some(c) if c == close => {}
                _ => return Err(self.error(&format!("expected ',' or '{close}'"))),
            }
        }
    }

    fn items(&mut self, open: char, close: char, depth: usize) -> Result<Vec<Literal>> {
        Ok(self.items_with_comma(open, close, depth)?.0)
    }

    /// A tuple, or a parenthesised single value (Python reads `(5)` as `5`).
    fn tuple(&mut self, depth: usize) -> Result<Literal> {
        let (mut items, comma) = self.items_with_comma('(', ')', depth)?;
        if items.len() == 1 && !comma {
            return Ok(items.remove(0));
        }
        Ok(Literal::Tuple(items))
    }

    fn dict(&mut self, depth: usize) -> Result<Literal> {
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Literal::Dict(entries));
            }
            let key = self.value(depth + 1)?;
            if self.peek() != Some(':') {
                return Err(self.error("expected ':' after a dict key"));
            }
            self.pos += 1;
            entries.push((key, self.value(depth + 1)?));
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_numpy_writes() {
        let got = parse_literal("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }   \n")
            .unwrap();
        let want = Literal::Dict(vec![
            (Literal::Str("descr".into()), Literal::Str("<f4".into())),
            (Literal::Str("fortran_order".into()), Literal::Bool(false)),
            (
                Literal::Str("shape".into()),
                Literal::Tuple(vec![Literal::Int(3), Literal::Int(4)]),
            ),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn follows_python_tuple_rules() {
        assert_eq!(parse_literal("(5)").unwrap(), Literal::Int(5));
        assert_eq!(
            parse_literal("(5,)").unwrap(),
            Literal::Tuple(vec![Literal::Int(5)])
        );
        assert_eq!(parse_literal("()").unwrap(), Literal::Tuple(vec![]));
        assert_eq!(parse_literal("(7L, 2)").unwrap().to_string(), "(7, 2)");
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "{",
            "{'a' 1}",
            "(((((((((((((((((((((((1)))))))))))))))))))))))",
            "'abc",
            "{1: }",
            "99999999999999999999",
            "-",
            "nan",
            "{} x",
        ] {
            assert!(parse_literal(bad).is_err(), "{bad:?}");
        }
    }
}
