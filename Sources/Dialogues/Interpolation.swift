/// `{name}` placeholders in dialogue texts, and `{name|fallback}`: the fallback text is shown while `name`
/// has no value.
public enum Interpolation {
    /// Names used as `{name}` in any language of `text`.
    public static func variables(in text: LocalizedText) -> Set<String> {
        var names: Set<String> = []
        for value in text.values.values { names.formUnion(variables(in: value)) }
        return names
    }

    static func variables(in text: String) -> [String] {
        placeholders(in: text).map(\.name)
    }

    /// A `{name}` or `{name|fallback}` found in a text, with the range it covers.
    struct Placeholder {
        var name: String
        var fallback: String?
        var range: Range<String.Index>
    }

    static func isName(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }

    static func placeholders(in text: String) -> [Placeholder] {
        var found: [Placeholder] = []
        var rest = text[...]
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let inside = after[..<close]
            let bar = inside.firstIndex(of: "|")
            let name = bar.map { inside[..<$0] } ?? inside
            if isName(name) {
                found.append(
                    Placeholder(
                        name: String(name), fallback: bar.map { String(inside[inside.index(after: $0)...]) },
                        range: open..<after.index(after: close)))
                rest = after[after.index(after: close)...]
            } else {
                rest = after
            }
        }
        return found
    }

    /// Replaces each `{name}` with its value, Markdown-escaped (values may come from users). A name with no
    /// value shows its fallback (`{name|fallback}`), else `missing`: a text never shows a raw `{name}`.
    /// Braces around anything that is not a name are left as they are.
    public static func render(_ text: String, _ values: [String: String], missing: String = "…") -> String {
        guard text.contains("{") else { return text }
        var out = ""
        var last = text.startIndex
        for placeholder in placeholders(in: text) {
            out += text[last..<placeholder.range.lowerBound]
            if let value = values[placeholder.name] {
                out += Markdown.escape(value)
            } else {
                out += placeholder.fallback ?? missing
            }
            last = placeholder.range.upperBound
        }
        out += text[last...]
        return out
    }
}
