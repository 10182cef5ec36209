//! `ofproto/trace`: the tree of what translation did, and its text in the format of OVS's
//! `ofproto-dpif-trace.c`.
//!
//! Translation reports into a [`Trace`]: bridges, tables (the rule each lookup found),
//! actions, and details, warnings and errors. A table node becomes the parent of what
//! happens under it (its actions, and the tables that `goto_table` and `resubmit` reach).
//! When printed, a node is indented one level deeper than its parent unless it is the last
//! of its siblings and not a leaf, which keeps tail recursion (a chain of `goto_table`s or
//! trailing `resubmit`s) flat, as OVS prints it.

use std::fmt::Write;

/// The kind of a trace node (OVS's `enum oftrace_node_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A bridge: `bridge("br0")` underlined with dashes.
    Bridge,
    /// A table and the rule found there: ` 0. in_port=1, priority 10`.
    Table,
    /// A group bucket that runs: `bucket 0`, its actions under it.
    Bucket,
    /// An action.
    Action,
    /// An explanation: ` -> ...`.
    Detail,
    /// A warning: ` >> ...`.
    Warn,
    /// An error: ` >>>> ... <<<<`.
    Error,
}

impl NodeKind {
    fn is_terminal(self) -> bool {
        matches!(
            self,
            NodeKind::Action | NodeKind::Detail | NodeKind::Warn | NodeKind::Error
        )
    }
}

/// One node of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its kind.
    pub kind: NodeKind,
    /// Its text.
    pub text: String,
    /// What happened under it.
    pub subs: Vec<Node>,
}

/// A trace being built: the nodes, and the path to the list new nodes go into.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    roots: Vec<Node>,
    /// Indexes from the roots down to the current parent (empty: the roots).
    path: Vec<usize>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Trace {
        Trace::default()
    }

    fn current(&mut self) -> &mut Vec<Node> {
        // The path only ever holds indexes of nodes that exist; a bad index (which cannot
        // happen) is cut off.
        let mut depth = 0;
        {
            let mut list = &self.roots;
            for &i in &self.path {
                match list.get(i) {
                    Some(n) => list = &n.subs,
                    None => break,
                }
                depth += 1;
            }
        }
        self.path.truncate(depth);
        let mut list = &mut self.roots;
        for &i in &self.path {
            list = &mut list[i].subs;
        }
        list
    }

    /// Appends a node to the current list.
    pub fn report(&mut self, kind: NodeKind, text: impl Into<String>) {
        self.current().push(Node {
            kind,
            text: text.into(),
            subs: Vec::new(),
        });
    }

    /// Appends a node to the current list and makes it the parent of what follows, until
    /// [`Trace::restore`] with the returned mark.
    pub fn enter(&mut self, kind: NodeKind, text: impl Into<String>) -> usize {
        let mark = self.path.len();
        let list = self.current();
        list.push(Node {
            kind,
            text: text.into(),
            subs: Vec::new(),
        });
        let i = list.len() - 1;
        self.path.push(i);
        mark
    }

    /// The current nesting, to pass to [`Trace::restore`] later.
    pub fn mark(&self) -> usize {
        self.path.len()
    }

    /// Goes back up to the nesting of `mark`.
    pub fn restore(&mut self, mark: usize) {
        self.path.truncate(mark);
    }

    /// The nodes.
    pub fn roots(&self) -> &[Node] {
        &self.roots
    }

    /// The nodes as OVS prints them (each line ends with a newline; a bridge node is
    /// preceded by an empty line).
    pub fn format(&self) -> String {
        let mut out = String::new();
        format_nodes(&mut out, &self.roots, 0);
        out
    }
}

fn format_nodes(out: &mut String, nodes: &[Node], level: usize) {
    for (i, n) in nodes.iter().enumerate() {
        if n.kind == NodeKind::Bridge {
            out.push('\n');
        }
        // Buckets always nest: they are siblings in spirit even when last.
        let more =
            usize::from(i + 1 < nodes.len() || n.kind.is_terminal() || n.kind == NodeKind::Bucket);
        let indent = " ".repeat((level + more) * 4);
        out.push_str(&indent);
        match n.kind {
            NodeKind::Detail => {
                let _ = writeln!(out, " -> {}", n.text);
            }
            NodeKind::Warn => {
                let _ = writeln!(out, " >> {}", n.text);
            }
            NodeKind::Error => {
                let _ = writeln!(out, " >>>> {} <<<<", n.text);
            }
            NodeKind::Bridge => {
                let _ = writeln!(out, "{}", n.text);
                out.push_str(&indent);
                out.push_str(&"-".repeat(n.text.chars().count()));
                out.push('\n');
            }
            NodeKind::Table | NodeKind::Bucket | NodeKind::Action => {
                let _ = writeln!(out, "{}", n.text);
            }
        }
        format_nodes(out, &n.subs, level + 2 * more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_tables_stay_flat() {
        let mut t = Trace::new();
        let m = t.enter(NodeKind::Bridge, "bridge(\"br0\")");
        let m0 = t.enter(NodeKind::Table, " 0. in_port=5, priority 9");
        t.report(NodeKind::Action, "goto_table:25");
        let m1 = t.enter(NodeKind::Table, "25. priority 2");
        t.report(NodeKind::Action, "NORMAL");
        t.report(NodeKind::Detail, "no learned MAC for destination, flooding");
        t.restore(m1);
        t.restore(m0);
        t.restore(m);
        assert_eq!(
            t.format(),
            "\nbridge(\"br0\")\n-------------\n 0. in_port=5, priority 9\n    goto_table:25\n\
             25. priority 2\n    NORMAL\n     -> no learned MAC for destination, flooding\n"
        );
    }

    #[test]
    fn non_tail_tables_indent() {
        let mut t = Trace::new();
        t.enter(NodeKind::Bridge, "bridge(\"br0\")");
        t.enter(NodeKind::Table, " 0. priority 0");
        t.report(NodeKind::Action, "resubmit(,1)");
        let m = t.enter(NodeKind::Table, " 1. priority 0");
        t.report(NodeKind::Action, "output:2");
        t.restore(m);
        t.report(NodeKind::Action, "output:3");
        t.report(NodeKind::Warn, "skipping output to input port");
        t.report(NodeKind::Error, "over max translation depth 64");
        assert_eq!(
            t.format(),
            "\nbridge(\"br0\")\n-------------\n 0. priority 0\n    resubmit(,1)\n     1. priority 0\n\
             \x20           output:2\n    output:3\n     >> skipping output to input port\n\
             \x20    >>>> over max translation depth 64 <<<<\n"
        );
    }
}
