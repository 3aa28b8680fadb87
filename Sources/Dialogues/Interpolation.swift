/// `{name}` placeholders in dialogue texts.
public enum Interpolation {
    /// Names used as `{name}` in any language of `text`.
    public static func variables(in text: LocalizedText) -> Set<String> {
        var names: Set<String> = []
        for value in text.values.values { names.formUnion(variables(in: value)) }
        return names
    }

    static func variables(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                names.append(String(name))
            }
            rest = after[after.index(after: close)...]
        }
        return names
    }

    /// Replaces each known `{name}` with its value, Markdown-escaped (values may come from users).
    /// Unknown names are left as they are.
    public static func render(_ text: String, _ values: [String: String]) -> String {
        guard text.contains("{") else { return text }
        var out = ""
        var rest = text[...]
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                out += Markdown.escape(value)
                rest = after[after.index(after: close)...]
            } else {
                out.append("{")
                rest = after
            }
        }
        out += rest
        return out
    }
}
