//! The printer: a `Query` back to canonical query text.
//!
//! Canonical means one line, uppercase keywords, single-quoted strings, `[[…]]` only around names that need it,
//! and parentheses only where the tree needs them, so that parsing the output gives the same tree.
//! It does not preserve the original layout, comments or keyword case; that is not part of the tree.

use std::fmt::Write;

use crate::ast::{
    Aggregate, Collection, CountArg, Direction, Expr, Hops, Literal, LogicalOp, MatchPattern, Name, Node, Path,
    Projection, ProjectionValue, Query, SelectItems,
};
use crate::lex::{is_word_continue, is_word_start};
use crate::parse::is_reserved;

/// Prints `query` in canonical form.
pub(crate) fn print_query(query: &Query) -> String {
    let mut out = String::from("SELECT");
    if let Some(top) = query.select.top {
        let _ = write!(out, " TOP({top})");
    }
    match &query.select.items {
        SelectItems::Star => out.push_str(" *"),
        SelectItems::Projections(items) => {
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { ", " });
                projection(&mut out, item);
            }
        }
    }
    out.push_str(match query.from.collection {
        Collection::DigitalTwins => " FROM DIGITALTWINS",
        Collection::Relationships => " FROM RELATIONSHIPS",
    });
    optional_name(&mut out, query.from.alias.as_ref());
    for join in &query.joins {
        out.push_str(" JOIN ");
        name(&mut out, &join.target);
        out.push_str(" RELATED ");
        name(&mut out, &join.source);
        out.push('.');
        name(&mut out, &join.relationship);
        optional_name(&mut out, join.alias.as_ref());
    }
    if let Some(pattern) = &query.pattern {
        out.push_str(" MATCH ");
        match_pattern(&mut out, pattern);
    }
    if let Some(filter) = &query.filter {
        out.push_str(" WHERE ");
        expr(&mut out, filter, 0);
    }
    for (i, e) in query.group_by.iter().enumerate() {
        out.push_str(if i == 0 { " GROUP BY " } else { ", " });
        expr(&mut out, e, 0);
    }
    for (i, item) in query.order_by.iter().enumerate() {
        out.push_str(if i == 0 { " ORDER BY " } else { ", " });
        expr(&mut out, &item.expr, 0);
        if item.descending {
            out.push_str(" DESC");
        }
    }
    out
}

/// A path as the printer writes it; also its `Debug` form.
pub(crate) fn path_text(p: &Path) -> String {
    let mut out = String::new();
    path(&mut out, p);
    out
}

fn projection(out: &mut String, item: &Projection) {
    match &item.value {
        ProjectionValue::Path(p) => path(out, p),
        ProjectionValue::Aggregate(aggregate) => {
            let (function, arg) = match aggregate {
                Aggregate::Count(CountArg::Empty) => ("COUNT", None),
                Aggregate::Count(CountArg::Star) => ("COUNT", Some(None)),
                Aggregate::Sum(p) => ("SUM", Some(Some(p))),
                Aggregate::Avg(p) => ("AVG", Some(Some(p))),
                Aggregate::Min(p) => ("MIN", Some(Some(p))),
                Aggregate::Max(p) => ("MAX", Some(Some(p))),
            };
            out.push_str(function);
            out.push('(');
            match arg {
                None => {}
                Some(None) => out.push('*'),
                Some(Some(p)) => path(out, p),
            }
            out.push(')');
        }
    }
    if let Some(alias) = &item.alias {
        out.push_str(" AS ");
        name(out, alias);
    }
}

fn match_pattern(out: &mut String, pattern: &MatchPattern) {
    node(out, &pattern.start);
    for step in &pattern.steps {
        let r = &step.relationship;
        out.push_str(if r.direction == Direction::Incoming { "<-[" } else { "-[" });
        if let Some(variable) = &r.variable {
            name(out, variable);
        }
        for (i, n) in r.names.iter().enumerate() {
            out.push(if i == 0 { ':' } else { '|' });
            name(out, n);
        }
        match r.hops {
            None => {}
            Some(Hops::Exactly(n)) => {
                let _ = write!(out, "*{n}");
            }
            Some(Hops::Range { lower, upper }) => {
                out.push('*');
                if let Some(lower) = lower {
                    let _ = write!(out, "{lower}");
                }
                let _ = write!(out, "..{upper}");
            }
        }
        out.push_str(if r.direction == Direction::Outgoing { "]->" } else { "]-" });
        node(out, &step.node);
    }
}

fn node(out: &mut String, n: &Node) {
    out.push('(');
    if let Some(variable) = &n.variable {
        name(out, variable);
    }
    out.push(')');
}

/// Binding strength, weakest first; an operand binding more weakly than its position needs gets parentheses.
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Logical { op: LogicalOp::Or, .. } => 1,
        Expr::Logical { op: LogicalOp::And, .. } => 2,
        Expr::Not(_) => 3,
        Expr::Compare { .. } | Expr::In { .. } => 4,
        Expr::Literal(_) | Expr::Path(_) | Expr::IsOfModel { .. } | Expr::Call { .. } => 5,
    }
}

fn expr(out: &mut String, e: &Expr, min: u8) {
    let own = precedence(e);
    if own < min {
        out.push('(');
        expr(out, e, 0);
        out.push(')');
        return;
    }
    match e {
        Expr::Literal(l) => literal(out, l),
        Expr::Path(p) => path(out, p),
        Expr::Compare { op, lhs, rhs } => {
            expr(out, lhs, 5);
            let _ = write!(out, " {} ", op.symbol());
            expr(out, rhs, 5);
        }
        Expr::Logical { op, lhs, rhs } => {
            // Chains nest to the left, so a right operand of the same strength needs parentheses.
            expr(out, lhs, own);
            out.push_str(if *op == LogicalOp::And { " AND " } else { " OR " });
            expr(out, rhs, own + 1);
        }
        Expr::Not(inner) => {
            out.push_str("NOT ");
            expr(out, inner, own);
        }
        Expr::In { value, negated, list } => {
            expr(out, value, 5);
            out.push_str(if *negated { " NIN [" } else { " IN [" });
            for (i, l) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(out, l);
            }
            out.push(']');
        }
        Expr::IsOfModel { collection, model, exact } => {
            out.push_str("IS_OF_MODEL(");
            if let Some(c) = collection {
                name(out, c);
                out.push_str(", ");
            }
            string(out, model);
            if *exact {
                out.push_str(", EXACT");
            }
            out.push(')');
        }
        Expr::Call { function, args } => {
            out.push_str(function.name());
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, a, 0);
            }
            out.push(')');
        }
    }
}

fn literal(out: &mut String, l: &Literal) {
    match l {
        Literal::Str(s) => string(out, s),
        Literal::Int(n) => {
            let _ = write!(out, "{n}");
        }
        // Debug always writes a '.' or an exponent, so the value comes back as a float, and it is the shortest
        // text that reads back to the same value.
        Literal::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        Literal::Bool(true) => out.push_str("TRUE"),
        Literal::Bool(false) => out.push_str("FALSE"),
        Literal::Null => out.push_str("NULL"),
    }
}

fn string(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
}

fn path(out: &mut String, p: &Path) {
    for (i, segment) in p.segments.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        name(out, segment);
    }
}

fn optional_name(out: &mut String, n: Option<&Name>) {
    if let Some(n) = n {
        out.push(' ');
        name(out, n);
    }
}

/// Writes a name bare when it lexes back as the same word and is no keyword, and escaped otherwise.
fn name(out: &mut String, n: &Name) {
    let text = n.as_str();
    let word = text.strip_prefix('$').unwrap_or(text).as_bytes();
    let bare = word.first().is_some_and(|&c| is_word_start(c))
        && word.iter().all(|&c| is_word_continue(c))
        && (text.starts_with('$') || !is_reserved(text));
    if bare {
        out.push_str(text);
    } else {
        let _ = write!(out, "[[{text}]]");
    }
}
