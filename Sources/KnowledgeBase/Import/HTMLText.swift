/// Turns an HTML page into the Markdown the importer already understands: `<h1>`…`<h6>` become headings,
/// block elements become paragraphs, scripts, styles and comments disappear, entities are decoded.
///
/// Not an HTML parser: enough for exported documentation pages, which is what people import.
enum HTMLText {
    static func markdown(from html: String) -> (title: String?, markdown: String) {
        var output = ""
        var title: String?
        var text = ""
        var skipUntil: String?
        var inTitle = false
        let characters = Array(html)
        var index = 0

        func flushText() {
            let collapsed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            if !collapsed.isEmpty {
                if inTitle {
                    title = (title.map { $0 + " " } ?? "") + decodeEntities(collapsed)
                } else {
                    if let last = output.last, !last.isWhitespace { output += " " }
                    output += decodeEntities(collapsed)
                }
            }
            text = ""
        }

        while index < characters.count {
            let character = characters[index]
            guard character == "<" else {
                if skipUntil == nil { text.append(character) }
                index += 1
                continue
            }
            if characters[index...].starts(with: "<!--") {
                var end = index + 4
                while end + 2 < characters.count && !(characters[end] == "-" && characters[end + 1] == "-" && characters[end + 2] == ">") {
                    end += 1
                }
                index = end + 3
                continue
            }
            guard let close = characters[index...].firstIndex(of: ">") else {
                text.append(character)
                index += 1
                continue
            }
            let inside = String(characters[(index + 1)..<close])
            index = close + 1
            let closing = inside.hasPrefix("/")
            let name = inside.drop(while: { $0 == "/" }).prefix(while: { $0.isLetter || $0.isNumber }).lowercased()
            if let skipped = skipUntil {
                if closing && name == skipped { skipUntil = nil }
                continue
            }
            flushText()
            switch name {
            case "script", "style", "noscript", "svg":
                if !closing { skipUntil = name }
            case "title":
                inTitle = !closing
            case "h1", "h2", "h3", "h4", "h5", "h6":
                let level = Int(String(name.dropFirst())) ?? 1
                output += closing ? "\n\n" : "\n\n" + String(repeating: "#", count: level) + " "
            case "li":
                if !closing { output += "\n- " }
            case "br", "tr":
                output += "\n"
            case "p", "div", "section", "article", "ul", "ol", "table", "blockquote", "pre", "dl", "dt", "dd",
                "header", "footer", "main", "nav", "hr":
                output += "\n\n"
            default:
                break
            }
        }
        flushText()
        return (title, output)
    }

    private static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "eacute": "é", "egrave": "è",
        "ecirc": "ê", "euml": "ë", "agrave": "à", "acirc": "â", "ccedil": "ç", "icirc": "î", "iuml": "ï",
        "ocirc": "ô", "ugrave": "ù", "ucirc": "û", "oelig": "œ", "Eacute": "É", "laquo": "«", "raquo": "»",
        "rsquo": "’", "lsquo": "‘", "ldquo": "“", "rdquo": "”", "hellip": "…", "mdash": "—", "ndash": "–",
        "copy": "©",
    ]

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = text[...]
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            let afterAmpersand = rest.index(after: ampersand)
            guard let semicolon = rest[afterAmpersand...].prefix(10).firstIndex(of: ";") else {
                result += "&"
                rest = rest[afterAmpersand...]
                continue
            }
            let entity = rest[afterAmpersand..<semicolon]
            var decoded: String?
            if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                decoded = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
            } else if entity.hasPrefix("#") {
                decoded = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String($0) }
            } else {
                decoded = named[String(entity)]
            }
            if let decoded {
                result += decoded
                rest = rest[rest.index(after: semicolon)...]
            } else {
                result += "&"
                rest = rest[afterAmpersand...]
            }
        }
        result += rest
        return result
    }
}
