/// Draws a dialogue: steps as boxes (questions show their kind), arrows for `next` and branches, one end.
public enum DialogueGraphRenderer {
    public enum Format: Sendable { case mermaid, dot }

    public static func render(_ script: DialogueScript, format: Format) -> String {
        let graph = DialogueGraph(script)
        func label(_ step: Step) -> String {
            let text = step.text.resolve(.en)
            let short = text.count > 40 ? String(text.prefix(37)) + "…" : text
            return step.kind.isQuestion ? "\(step.id) [\(step.kind.name)]: \(short)" : "\(step.id): \(short)"
        }
        func clean(_ s: String) -> String {
            s.replacingOccurrences(of: "\"", with: "'").replacingOccurrences(of: "\n", with: " ")
                .replacingOccurrences(of: "<", with: "‹").replacingOccurrences(of: ">", with: "›")
        }
        func node(_ id: String) -> String { "s_" + id.replacingOccurrences(of: "-", with: "_") }
        var out = ""
        switch format {
        case .mermaid:
            out += "flowchart TD\n"
            out += "  start((start)) --> \(script.steps.first.map { node($0.id) } ?? "finish")\n"
            for step in script.steps {
                let shape = step.kind.isQuestion ? "{{\"\(clean(label(step)))\"}}" : "[\"\(clean(label(step)))\"]"
                out += "  \(node(step.id))\(shape)\n"
            }
            out += "  finish((end))\n"
            for edge in graph.edges {
                let to: String
                switch edge.to {
                case .step(let id): to = node(id)
                case .end: to = "finish"
                }
                if let label = edge.label {
                    out += "  \(node(edge.from)) -->|\"\(clean(label))\"| \(to)\n"
                } else {
                    out += "  \(node(edge.from)) --> \(to)\n"
                }
            }
        case .dot:
            out +=
                "digraph \"\(clean(script.id))\" {\n  rankdir=TB;\n  start [shape=circle];\n  finish [shape=doublecircle, label=\"end\"];\n"
            out += "  start -> \(script.steps.first.map { node($0.id) } ?? "finish");\n"
            for step in script.steps {
                out += "  \(node(step.id)) [shape=\(step.kind.isQuestion ? "diamond" : "box"), label=\"\(clean(label(step)))\"];\n"
            }
            for edge in graph.edges {
                let to: String
                switch edge.to {
                case .step(let id): to = node(id)
                case .end: to = "finish"
                }
                out += "  \(node(edge.from)) -> \(to)\(edge.label.map { " [label=\"\(clean($0))\"]" } ?? "");\n"
            }
            out += "}\n"
        }
        return out
    }
}
